from __future__ import annotations

import io
import re
import struct
import zipfile
from collections.abc import Callable

import docx
import pytest
from fpdf import FPDF

from common.errors import InvalidInputError, PayloadTooLargeError, UnsupportedMediaError
from copilot import extraction
from copilot.chunking import chunk_sections
from copilot.extraction import MAX_HEADING_CHARS, MAX_PDF_PAGES, Section, extract
from tests.support.abuse_client import docx_bomb, docx_with_parts
from tests.support.documents import minimal_pdf


def docx_bytes() -> bytes:
    document = docx.Document()
    document.add_heading("Penalties", level=1)
    document.add_paragraph("Late delivery costs the supplier 2% of the order value per week.")
    document.add_heading("Payment", level=1)
    document.add_paragraph("Invoices are paid 60 days after receipt.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_markdown_is_split_at_headings():
    sections = extract("contract.md", b"# Scope\nBolts.\n## Penalties\nTwo percent per week.\n")
    assert [(s.heading, s.text) for s in sections] == [("Scope", "Bolts."), ("Penalties", "Two percent per week.")]


# Until 2026-12-07 a "#" comment in a code block was a heading: the SOP's returns policy was cited under
# "reset the printer queue".
@pytest.mark.parametrize(
    "code",
    [
        "```bash\n# reset the printer queue\nlpr -P zebra -r\n```",
        "~~~\n# reset the printer queue\n```\nlpr -P zebra -r\n~~~",  # a fence of the other character stays inside
        "````\n# reset the printer queue\n```\nlpr -P zebra -r\n`````",  # so does a shorter one
    ],
)
def test_a_hash_line_inside_a_fenced_code_block_is_not_a_heading(code):
    sop = f"# Label printing\nPrint labels before pickup.\n{code}\n# Returns\nReturns are accepted within 30 days.\n"
    sections = extract("sop.md", sop.encode())
    assert [(s.heading, s.text) for s in sections] == [
        ("Label printing", f"Print labels before pickup.\n{code}"),
        ("Returns", "Returns are accepted within 30 days."),
    ]


def pdf_of_lines(pages: list[list[str]]) -> bytes:
    """A PDF with each given line printed as a line of its page."""
    pdf = FPDF()
    pdf.set_font("Courier", size=10)
    for lines in pages:
        pdf.add_page()
        for line in lines:
            pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


# Until 2026-12-07 (e6ddf17 until its mend) each PDF page was read with no code block open: the block running on
# from page 1 ended there, page 2's "# reset the printer queue" became a heading, the closing fence opened a block
# and the returns policy was cited under "reset the printer queue".
def test_a_code_block_running_on_to_the_next_pdf_page_holds_no_heading():
    page_1 = ["# Printer SOP", "Run this to reset:", "```bash", "lpstat -t"]
    page_2 = ["# reset the printer queue", "cancel -a", "```", "# Returns policy", "Returns within 30 days."]
    data = pdf_of_lines([page_1, page_2])
    sections = extract("sop.pdf", data)
    assert [s.heading for s in sections] == ["Printer SOP", None, "Returns policy"]  # None: page 2 before a heading
    assert (sections[2].text, sections[2].page) == ("Returns within 30 days.", 2)


# Cubic backtracking over the spaces (until 2026-12-07) held the GIL for hours; the timeout fails the test instead.
@pytest.mark.timeout(5)
def test_a_heading_with_a_long_run_of_spaces_is_read_in_linear_time():
    line = "# a" + " " * 20_000 + "b  #"
    sections = extract("n.md", f"{line}\nbody".encode())
    # Past MAX_HEADING_CHARS the line is body text, read the same way: what matters here is that it returns.
    assert [(s.heading, s.text) for s in sections] == [(None, f"{line}\nbody")]


def long_heading_document(filename: str, heading: str) -> bytes:
    body = "Late delivery costs 2% per week of the order value. " * 40
    if filename.endswith(".md"):
        return f"# Scope\nBolts.\n# {heading}\n{body}\n".encode()
    document = docx.Document()
    document.add_heading("Scope", level=1)
    document.add_paragraph("Bolts.")
    document.add_heading(heading, level=1)
    document.add_paragraph(body)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# Until 2026-12-07 a heading of any length was copied into each chunk of its section: a 200 KB heading line made
# 2,500 chunks of 200 KB, and one of 160,000 words was refused by PostgreSQL as too long for a tsvector (a 500).
@pytest.mark.parametrize("filename", ["long-heading.md", "long-heading.docx"])
def test_a_heading_longer_than_the_limit_is_read_as_body_text(filename):
    heading = " ".join(f"term{i}" for i in range(MAX_HEADING_CHARS))
    sections = extract(filename, long_heading_document(filename, heading))
    assert [s.heading for s in sections] == ["Scope"]
    assert heading in sections[0].text and "Late delivery" in sections[0].text
    assert all(len(c.content) <= 900 + 1 + MAX_HEADING_CHARS for c in chunk_sections(sections))


def test_a_heading_at_the_limit_is_kept():
    heading = "h" * MAX_HEADING_CHARS
    assert extract("n.md", f"# {heading}\nbody".encode())[0].heading == heading


@pytest.mark.parametrize(
    ("line", "heading"),
    [("# Title #", "Title"), ("## A ## ", "A"), ("# #hashtag", "#hashtag"), ("### C# ###", "C#"), ("# ###", "###")],
)
def test_a_headings_closing_hashes_are_dropped(line, heading):
    assert extract("n.md", f"{line}\nbody".encode())[0].heading == heading


def test_pdf_text_keeps_its_page_numbers():
    sections = extract("terms.pdf", minimal_pdf(["Delivery within 10 days", "Penalty of 3 percent"]))
    assert [(s.page, s.text) for s in sections] == [(1, "Delivery within 10 days"), (2, "Penalty of 3 percent")]


def test_docx_paragraphs_are_grouped_under_their_headings():
    sections = extract("acme.docx", docx_bytes())
    by_heading = {s.heading: s.text for s in sections}
    assert "2% of the order value" in by_heading["Penalties"]
    assert "60 days" in by_heading["Payment"]


def test_csv_rows_keep_their_column_names():
    (section,) = extract("suppliers.csv", b"supplier,lead time\nAcme,12\nGlobex,30\n")
    assert section.text == "supplier: Acme; lead time: 12\nsupplier: Globex; lead time: 30"


def test_csv_cells_past_the_header_are_kept_under_their_position():
    # Before, a cell past the header's last column was dropped from the text the copilot cites.
    (section,) = extract("suppliers.csv", b"supplier,lead time\nAcme,12,rush only\n")
    assert section.text == "supplier: Acme; lead time: 12; column 3: rush only"


@pytest.mark.parametrize("filename", ["photo.png", "archive.zip", "noextension"])
def test_unsupported_file_types_are_refused(filename):
    with pytest.raises(UnsupportedMediaError, match="unsupported file type"):
        extract(filename, b"data")


@pytest.mark.parametrize(
    ("filename", "data", "code"),
    [
        ("empty.txt", b"", "empty_file"),
        ("blank.md", b"  \n\n ", "empty_file"),
        ("broken.pdf", b"%PDF-1.4 this is not a pdf", "corrupt_file"),
        ("broken.docx", b"PK\x03\x04 not a zip", "corrupt_file"),
        ("binary.txt", b"\x00\x01\x02binary", "corrupt_file"),
        ("latin1.txt", "café".encode("latin-1"), "corrupt_file"),
    ],
)
def test_empty_and_corrupt_files_are_refused_with_a_precise_code(filename, data, code):
    with pytest.raises(InvalidInputError) as raised:
        extract(filename, data)
    assert raised.value.code == code


def broken_docx() -> bytes:
    """A DOCX whose zip is sound and whose main part is not well-formed XML."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx_bytes())) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, b"<w:document" if item.filename == "word/document.xml" else source.read(item))
    return out.getvalue()


def docx_with_main_part(edit: Callable[[str], str]) -> bytes:
    """A DOCX of a paragraph and a 2 x 2 table ("a" and "b" in its first column), its main part's XML edited."""
    document = docx.Document()
    document.add_paragraph("Hello")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(1, 0).text = "a", "b"
    saved, out = io.BytesIO(), io.BytesIO()
    document.save(saved)
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            part = source.read(item)
            target.writestr(item, edit(part.decode()).encode() if item.filename == "word/document.xml" else part)
    return out.getvalue()


def docx_with_damaged_part(damage: Callable[[bytearray, int, int], None]) -> bytes:
    """A DOCX whose main part's zip entry is altered by ``damage(data, local header offset, central entry offset)``."""
    data = bytearray(docx_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        local = archive.getinfo("word/document.xml").header_offset
    # Walk the central directory, from the offset its end record gives, to the entry naming that part.
    end_record = data.rfind(b"PK\x05\x06")
    (central,) = struct.unpack("<I", data[end_record + 16 : end_record + 20])
    while True:
        name_length, extra_length, comment_length = struct.unpack("<HHH", data[central + 28 : central + 34])
        if data[central + 46 : central + 46 + name_length] == b"word/document.xml":
            break
        central += 46 + name_length + extra_length + comment_length
    damage(data, local, central)
    return bytes(data)


def flip_a_compressed_byte(data: bytearray, local: int, central: int) -> None:
    name_length, extra_length = struct.unpack("<HH", data[local + 26 : local + 30])
    data[local + 30 + name_length + extra_length + 10] ^= 0xFF


def mark_compressed_by_an_unknown_method(data: bytearray, local: int, central: int) -> None:
    data[local + 8] = data[central + 10] = 99


def mark_encrypted(data: bytearray, local: int, central: int) -> None:
    data[local + 6] |= 1
    data[central + 8] |= 1


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("broken-xml.docx", broken_docx()),
        ("broken-trailer.pdf", minimal_pdf(["Net 60 days"]).replace(b"trailer <<", b"trailer <>><")),
        # Until 2026-12-07 the cases below were 500s.
        ("damaged-deflate.docx", docx_with_damaged_part(flip_a_compressed_byte)),
        ("unknown-compression.docx", docx_with_damaged_part(mark_compressed_by_an_unknown_method)),
        ("zip-password.docx", docx_with_damaged_part(mark_encrypted)),
        ("unknown-filter.pdf", minimal_pdf(["Net 60 days"]).replace(b"<< /Length", b"<< /Filter /FooDecode /Length")),
        (
            "certificate-encrypted.pdf",
            minimal_pdf(["Net 60 days"]).replace(
                b"/Root 1 0 R >>", b"/Root 1 0 R /Encrypt << /Filter /Adobe.PubSec /V 4 >> /ID [<00> <00>] >>"
            ),
        ),
        (
            "style-without-name.docx",
            docx_with_main_part(lambda xml: xml.replace("<w:p>", "<w:p><w:pPr><w:pStyle/></w:pPr>", 1)),
        ),
        (
            "xref-past-any-size.pdf",
            re.sub(rb"startxref\s+\d+", b"startxref\n99999999999999999999", minimal_pdf(["Net 60 days"])),
        ),
    ],
)
def test_files_broken_inside_a_sound_container_are_refused_as_corrupt(filename, data):
    with pytest.raises(InvalidInputError) as raised:
        extract(filename, data)
    assert raised.value.code == "corrupt_file"


def test_unpaired_surrogates_a_pdf_text_layer_maps_to_are_dropped():
    (section,) = extract("cmap.pdf", minimal_pdf(["Price A list"], to_unicode=b"<41> <D835>"))
    assert section.text.encode("utf-8") == b"Price  list"


def test_a_docx_table_belongs_to_the_heading_above_it():
    document = docx.Document()
    document.add_heading("Prices", level=1)
    document.add_table(rows=1, cols=2).rows[0].cells[0].text = "BRG-40904"
    document.add_heading("Termination", level=1)
    document.add_paragraph("Either party may end the agreement.")
    out = io.BytesIO()
    document.save(out)
    by_heading = {s.heading: s.text for s in extract("agreement.docx", out.getvalue())}
    assert "BRG-40904" in by_heading["Prices"] and "BRG-40904" not in by_heading["Termination"]


def test_a_docx_table_whose_first_row_continues_a_vertical_merge_is_read():
    # Until 2026-12-07 python-docx's "no tr above topmost tr" escaped as a 500.
    data = docx_with_main_part(lambda xml: xml.replace("<w:tc><w:tcPr>", "<w:tc><w:tcPr><w:vMerge/>", 1))
    assert [s.text for s in extract("merged.docx", data)] == ["Hello\na; \nb;"]


def test_a_docx_row_continuing_a_vertical_merge_repeats_the_merged_text_and_stays_whole():
    document = docx.Document()
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).merge(table.cell(1, 0)).text = "ACME"
    table.cell(0, 1).text, table.cell(1, 1).text = "SKU-1", "SKU-2"
    out = io.BytesIO()
    document.save(out)
    assert [s.text for s in extract("merged.docx", out.getvalue())] == ["ACME; SKU-1\nACME; SKU-2"]


def test_a_merged_cell_repeated_over_many_rows_is_refused_before_its_text_is_built(monkeypatch):
    # A large merged cell over many short rows repeats its text on each: the bound is counted as the rows grow.
    monkeypatch.setattr("copilot.extraction.MAX_EXTRACTED_CHARS", 1_000)
    document = docx.Document()
    table = document.add_table(rows=50, cols=1)
    table.cell(0, 0).merge(table.cell(49, 0)).text = "x" * 100
    out = io.BytesIO()
    document.save(out)
    built = []
    real = extraction._table_text
    monkeypatch.setattr(extraction, "_table_text", lambda *a: built.append(real(*a)) or built[-1])
    with pytest.raises(PayloadTooLargeError, match="characters of text"):
        extract("merged.docx", out.getvalue())
    assert built == [None]


def test_a_row_starting_past_grid_columns_reads_the_merged_text_of_its_own_column():
    document = docx.Document()
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 1).merge(table.cell(1, 1)).text = "ACME"
    table.cell(0, 0).text = "SKU-1"
    row = table.rows[1]._tr
    row.remove(row.tc_lst[0])  # the second row starts at grid column 1 (w:gridBefore 1)
    row.get_or_add_trPr().get_or_add_gridBefore().val = 1
    out = io.BytesIO()
    document.save(out)
    assert [s.text for s in extract("before.docx", out.getvalue())] == ["SKU-1; ACME\nACME"]


def test_a_docx_table_cell_spanning_many_columns_is_read_once():
    # Until 2026-12-07 the cell was read once per column it spans: 50,000 in a 36 KB file took 9 s.
    span = '<w:tc><w:tcPr><w:gridSpan w:val="50000"/>'
    data = docx_with_main_part(lambda xml: xml.replace("<w:tc><w:tcPr>", span, 1))
    assert [s.text for s in extract("spanned.docx", data)] == ["Hello\na; \nb;"]


def test_a_docx_holding_more_text_than_the_bound_is_refused(monkeypatch):
    monkeypatch.setattr("copilot.extraction.MAX_EXTRACTED_CHARS", 8)
    with pytest.raises(PayloadTooLargeError, match="characters of text") as refused:
        extract("long.docx", docx_with_main_part(lambda xml: xml))
    assert refused.value.code == "document_too_large"


def test_nul_characters_of_a_pdf_text_layer_are_dropped():
    assert [s.text for s in extract("scan.pdf", minimal_pdf(["Net\\00060 days"]))] == ["Net60 days"]


def test_a_text_file_with_a_nul_past_its_first_kilobytes_is_refused_as_binary():
    with pytest.raises(InvalidInputError) as refused:
        extract("notes.txt", b"a" * 10_000 + b"\x00tail")
    assert refused.value.code == "corrupt_file"


def test_chunks_never_cross_a_section_or_a_page():
    sections = [Section("alpha " * 400, "A", 1), Section("beta " * 50, "B", 2)]
    chunks = chunk_sections(sections, max_chars=500)
    assert all(len(c.content) <= 500 + len("A\n") for c in chunks)
    assert {(c.section, c.page) for c in chunks} == {("A", 1), ("B", 2)}
    assert all(("beta" in c.content) == (c.section == "B") for c in chunks)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


PRICE_ROWS = [(f"BRG-{40900 + i}", "Ball bearing sealedxx", f"{1234.50 + i:.2f}", str(500 + 10 * i)) for i in range(24)]
FIGURE = re.compile(r"\d+(?:\.\d+)*")


def price_list(filename: str) -> tuple[bytes, list[str]]:
    """A price list as CSV or as a DOCX table, with each row as its extracted text should hold it."""
    if filename.endswith(".csv"):
        lines = ["sku,description,unit_price,moq", *(",".join(row) for row in PRICE_ROWS)]
        rows = [f"sku: {s}; description: {d}; unit_price: {p}; moq: {m}" for s, d, p, m in PRICE_ROWS]
        return "\n".join(lines).encode(), rows
    document = docx.Document()
    document.add_heading("Prices", level=1)
    table = document.add_table(rows=len(PRICE_ROWS), cols=4)
    for row, values in zip(table.rows, PRICE_ROWS, strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue(), ["; ".join(row) for row in PRICE_ROWS]


# Until 2026-12-07 a table longer than a chunk was cut every 900 characters wherever that fell, and the overlap
# glued the cut-off tail before the rest: a chunk held "moq: 60" and the next "moq: 60 0", none "moq: 600".
@pytest.mark.parametrize("filename", ["prices.csv", "prices.docx"])
def test_a_table_longer_than_a_chunk_is_chunked_between_its_rows(filename):
    data, rows = price_list(filename)
    chunks = chunk_sections(extract(filename, data))
    assert len(chunks) > 1
    assert all(any(row in chunk.content for chunk in chunks) for row in rows)
    figures_in_file = set(FIGURE.findall(" ".join(" ".join(row) for row in PRICE_ROWS)))
    bodies = [chunk.content.removeprefix(f"{chunk.section}\n") for chunk in chunks]
    assert {figure for body in bodies for figure in FIGURE.findall(body)} <= figures_in_file


def test_a_line_longer_than_a_chunk_is_cut_between_words_and_goes_on_without_overlap():
    words = [f"w{i:03d}" for i in range(400)]
    chunks = chunk_sections([Section(" ".join(words))], max_chars=500, overlap_chars=120)
    assert [word for chunk in chunks for word in chunk.content.split(" ")] == words


CLAUSES = [
    f"Clause {i}: the supplier shall notify the buyer of any delay to a confirmed delivery within {i + 2} business "
    "days of learning of it, stating the new expected date and the reason for the delay."
    for i in range(1, 31)
]


def prose_pdf(sentences: list[str]) -> bytes:
    """One paragraph of prose wrapped over the page, as a PDF writer prints it: its text has a line per line."""
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    pdf.add_page()
    pdf.multi_cell(0, 6, " ".join(sentences))
    return bytes(pdf.output())


# Until 2026-12-07 (2c7eab4 until its mend) a paragraph longer than a chunk was split at every line break before
# its sentences: chunks of a PDF's prose ended "stating the new" and "reason for", and some clauses were whole in
# no chunk.
def test_prose_longer_than_a_chunk_is_chunked_between_its_sentences():
    sections = extract("terms.pdf", prose_pdf(CLAUSES))
    assert sections[0].text.count("\n") > 20  # extracted with a line per printed line
    chunks = [" ".join(chunk.content.split()) for chunk in chunk_sections(sections)]
    assert len(chunks) > 1
    assert [clause for clause in CLAUSES if not any(clause in chunk for chunk in chunks)] == []


def test_docx_that_inflates_past_the_bound_is_refused_before_parsing():
    with pytest.raises(PayloadTooLargeError, match="unpacks to"):
        extract("bomb.docx", docx_bomb(200 * 1024 * 1024))


def test_docx_with_thousands_of_parts_is_refused():
    with pytest.raises(PayloadTooLargeError, match="5000 parts"):
        extract("parts.docx", docx_with_parts(5000))


def test_pdf_with_more_pages_than_the_bound_is_refused():
    with pytest.raises(PayloadTooLargeError, match="pages"):
        extract("long.pdf", minimal_pdf(["x"] * (MAX_PDF_PAGES + 1)))


def test_decomposed_text_is_chunked_composed_as_questions_are_read():
    # Before, a PDF's "Wu\u0308rth" was stored decomposed: full text indexed another word than the question's.
    (chunk,) = chunk_sections([Section("Net 30 days for Wu\u0308rth.", heading="Wu\u0308rth")])
    assert (chunk.content, chunk.section) == ("Würth\nNet 30 days for Würth.", "Würth")
