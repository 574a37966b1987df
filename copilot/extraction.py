"""Text out of uploaded files, kept in sections (headings) and pages so citations can point at them."""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from common.errors import InvalidInputError, PayloadTooLargeError, UnsupportedMediaError

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument

# Extension -> canonical content type. The extension decides; browsers send unreliable content types.
SUPPORTED_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".csv": "text/csv",
}
# Linear: each part matches what the next cannot. The closing #s are stripped in Python (_heading_text): the
# pattern that matched them, (.+?)\s*#*\s*$, backtracked cubically over a run of spaces in a heading ("# a",
# thousands of spaces, "b" took minutes), holding the GIL and so the replica's event loop for every tenant.
_MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+(\S.*)$")
# A fenced code block (CommonMark: ``` or ~~~, indented at most 3 spaces) holds text, never headings: a "#" line in
# it is a shell or Python comment. It ends at a fence of at least as many of its character, or at the text's end.
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_CSV_ROWS_PER_SECTION = 20
# A heading is repeated in every chunk of its section and cited as its name. A longer "heading" is a paragraph (a
# "#" before it, a Word heading style on it) and is read as body text: cut, it would lose the rest of its text.
MAX_HEADING_CHARS = 200
# Compressed formats can inflate a small upload into gigabytes (a "zip bomb"): bounds on what extraction
# may unpack. A 10 MB upload of real documents stays far inside them.
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_ARCHIVE_PARTS = 2000
MAX_PDF_PAGES = 2000
MAX_EXTRACTED_CHARS = 20_000_000
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_MARK_OF = {name: mark for mark, name in _BYTE_ORDER_MARKS}


@dataclass(frozen=True)
class Section:
    """A run of text under one heading (and on one page, for PDFs)."""

    text: str
    heading: str | None = None
    page: int | None = None


def content_type_for(filename: str) -> str:
    suffix = PurePath(filename).suffix.lower()
    if suffix not in SUPPORTED_TYPES:
        raise UnsupportedMediaError(
            f"unsupported file type {suffix or '(no extension)'!r} for {filename!r}; "
            f"supported: {', '.join(sorted(SUPPORTED_TYPES))}",
            code="unsupported_file_type",
        )
    return SUPPORTED_TYPES[suffix]


def extract(filename: str, data: bytes) -> list[Section]:
    """Sections of text in reading order; refuses empty, corrupt and unsupported files."""
    content_type = content_type_for(filename)
    if not data:
        raise InvalidInputError(f"{filename!r} is empty", code="empty_file")
    if content_type == "application/pdf":
        sections = _pdf(filename, data)
    elif content_type.endswith("wordprocessingml.document"):
        sections = _docx(filename, data)
    else:
        text = _decode(filename, data)
        sections = _csv(filename, text) if content_type == "text/csv" else _markdown(text)[0]
    sections = [s for s in sections if s.text.strip()]
    if not sections:
        raise InvalidInputError(f"{filename!r} contains no extractable text", code="empty_file")
    return sections


def _decode(filename: str, data: bytes) -> str:
    # A byte order mark names the encoding; UTF-16 and UTF-32 text (Excel's "Unicode Text", Notepad's "Unicode")
    # is full of NUL bytes, so the mark is read before any NUL check. UTF-32 LE's mark begins with UTF-16 LE's.
    encoding = next((name for mark, name in _BYTE_ORDER_MARKS if data.startswith(mark)), "utf-8")
    try:
        text = data[len(_MARK_OF[encoding]) :].decode(encoding) if encoding != "utf-8" else data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        label = encoding.upper().replace("-LE", "").replace("-BE", "")
        raise InvalidInputError(f"{filename!r} is not valid {label} text: {exc.reason}", code="corrupt_file") from exc
    # A NUL anywhere, not only near the start: text files have none, and a later one would reach the database.
    if "\x00" in text:
        raise InvalidInputError(f"{filename!r} is binary, not text", code="corrupt_file")
    return text


def _markdown(text: str, fence: str | None = None) -> tuple[list[Section], str | None]:
    """Sections of Markdown text, and the fence of a code block still open at its end (``fence``: one open at its
    start, as a code block runs on from one PDF page to the next)."""
    sections: list[Section] = []
    heading: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        if fence is not None:
            fence = None if _closes_fence(line, fence) else fence
            lines.append(line)
            continue
        fence = _opening_fence(line)
        match = None if fence else _MARKDOWN_HEADING.match(line)
        title = _heading_text(match.group(2)) if match else ""
        if title and len(title) <= MAX_HEADING_CHARS:
            sections.append(Section("\n".join(lines).strip(), heading))
            heading, lines = title, []
        else:
            lines.append(line)
    sections.append(Section("\n".join(lines).strip(), heading))
    return sections, fence


def _opening_fence(line: str) -> str | None:
    match = _FENCE.match(line)
    # A backtick fence's info string ("```bash") has no backticks: "```a``` b" is inline code, not a fence.
    if match is None or (match.group(1)[0] == "`" and "`" in match.group(2)):
        return None
    return match.group(1)


def _closes_fence(line: str, fence: str) -> bool:
    match = _FENCE.match(line)
    return (
        match is not None
        and match.group(1)[0] == fence[0]
        and len(match.group(1)) >= len(fence)
        and not match.group(2).strip()
    )


def _heading_text(text: str) -> str:
    """An ATX heading without its optional closing #s ("## Scope ##" is "Scope"); one of #s alone stays."""
    text = text.rstrip()
    return text.rstrip("#").rstrip() or text


def _csv(filename: str, text: str) -> list[Section]:
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise InvalidInputError(f"{filename!r} is not valid CSV: {exc}", code="corrupt_file") from exc
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        return []
    header, body = rows[0], rows[1:] or [rows[0]]
    sections = []
    # Each row becomes "column: value" pairs so a chunk stays readable without its header.
    for start in range(0, len(body), _CSV_ROWS_PER_SECTION):
        block = body[start : start + _CSV_ROWS_PER_SECTION]
        # A row longer than the header keeps its extra cells, named by position, rather than losing them.
        lines = ["; ".join(f"{_column(header, i)}: {v}" for i, v in enumerate(row)) for row in block]
        sections.append(Section("\n".join(lines), f"rows {start + 1}-{start + len(block)}"))
    return sections


def _column(header: list[str], index: int) -> str:
    return header[index] if index < len(header) and header[index].strip() else f"column {index + 1}"


def _pdf(filename: str, data: bytes) -> list[Section]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, LimitReachedError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if len(reader.pages) > MAX_PDF_PAGES:
            raise _too_large(filename, f"has {len(reader.pages)} pages, over the limit of {MAX_PDF_PAGES}")
        pages: list[str] = []
        extracted = 0
        for page in reader.pages:
            # (Text files with a NUL are refused as binary; DOCX, being XML, cannot hold one.)
            pages.append(_text_only(page.extract_text() or ""))
            extracted += len(pages[-1])
            if extracted > MAX_EXTRACTED_CHARS:
                raise _too_large(filename, f"holds more than {MAX_EXTRACTED_CHARS} characters of text")
    except LimitReachedError as exc:  # pypdf's own bound on one decompressed stream
        raise _too_large(filename, f"has a stream that inflates past pypdf's limit ({exc})") from exc
    # pypdf meets a damaged file with whatever error the broken object raises (an AttributeError for a trailer
    # that is not a dictionary, an IndexError, a RecursionError for a cycle), not only its own, and an encryption
    # handler other than Standard (/Adobe.PubSec) or an unknown stream filter with NotImplementedError, an offset
    # past any file (startxref 99999999999999999999) with OverflowError.
    except (
        PyPdfError,
        DependencyError,
        NotImplementedError,
        ValueError,
        KeyError,
        TypeError,
        OSError,
        AttributeError,
        IndexError,
        RecursionError,
        ArithmeticError,
    ) as exc:
        raise InvalidInputError(f"{filename!r} is not a readable PDF: {exc}", code="corrupt_file") from exc
    sections: list[Section] = []
    fence: str | None = None
    for number, text in enumerate(pages, start=1):
        page_sections, fence = _markdown(text, fence)
        sections.extend(Section(section.text, section.heading, number) for section in page_sections)
    return sections


def _docx(filename: str, data: bytes) -> list[Section]:
    import docx
    from docx.exceptions import PythonDocxError
    from docx.opc.exceptions import PackageNotFoundError
    from docx.oxml.exceptions import XmlchemyError
    from lxml.etree import XMLSyntaxError

    _check_archive(filename, data)
    # Opening and walking the document alike: a part's damaged deflate stream raises zlib.error (EOFError where it
    # ends early); zipfile refuses a part encrypted with a password with RuntimeError, and one compressed by a
    # method it lacks with its subclass NotImplementedError; an element short of a required attribute (<w:pStyle/>)
    # raises python-docx's InvalidXmlError (an XmlchemyError), a number past any size OverflowError.
    try:
        return _docx_sections(filename, docx.Document(io.BytesIO(data)))
    except (
        PackageNotFoundError,
        PythonDocxError,
        XmlchemyError,
        zipfile.BadZipFile,
        KeyError,
        ValueError,
        XMLSyntaxError,
        zlib.error,
        EOFError,
        RuntimeError,
        ArithmeticError,
    ) as exc:
        raise InvalidInputError(f"{filename!r} is not a readable DOCX file: {exc}", code="corrupt_file") from exc


def _docx_sections(filename: str, document: DocxDocument) -> list[Section]:
    from docx.table import Table, _Cell

    sections: list[Section] = []
    heading: str | None = None
    lines: list[str] = []
    extracted = 0
    # Paragraphs and tables in the order they stand, so a table belongs to the heading above it.
    for block in document.iter_inner_content():
        text = _table_text(block, _Cell, MAX_EXTRACTED_CHARS - extracted) if isinstance(block, Table) else block.text
        if text is None or extracted + len(text) > MAX_EXTRACTED_CHARS:
            raise _too_large(filename, f"holds more than {MAX_EXTRACTED_CHARS} characters of text")
        extracted += len(text)
        style = "" if isinstance(block, Table) or block.style is None else block.style.name or ""
        title = text.strip()
        if style.lower().startswith(("heading", "title")) and title and len(title) <= MAX_HEADING_CHARS:
            sections.append(Section("\n".join(lines).strip(), heading))
            heading, lines = title, []
        else:
            lines.append(text)
    sections.append(Section("\n".join(lines).strip(), heading))
    return sections


def _table_text(table: Any, cell: Any, budget: int) -> str | None:
    """A table's rows, cells joined by "; ", or None once they pass ``budget`` characters. Each w:tc is read once:
    row.cells repeats a cell once per column it spans (w:gridSpan="50000" in a 36 KB file read it 50,000 times) and
    looks up the row above for a vertically merged one (a ValueError in the first row). A cell continuing a vertical
    merge repeats the text above it in its grid column, as row.cells did, so each row reads whole ("ACME; SKU-2",
    not "; SKU-2"); the budget is counted as the rows grow, since a large merged cell over many short rows would
    otherwise build gigabytes before any check."""
    above: dict[int, str] = {}
    rows: list[str] = []
    for row in table.rows:
        column, cells = row._tr.grid_before, []
        for tc in row._tr.tc_lst:
            own = cell(tc, table).text.strip()
            text = above.get(column, own) if tc.vMerge == "continue" else own
            above[column] = text
            cells.append(text)
            column += tc.grid_span
            budget -= len(text) + 2
            if budget < 0:
                return None
        rows.append("; ".join(cells))
    return "\n".join(rows)


def _text_only(text: str) -> str:
    """A PDF's text without what is not text: NUL characters (glyphs mapped to code 0, which PostgreSQL refuses
    in a text column) and UTF-16 surrogates a malformed ToUnicode map leaves unpaired (no encoder takes them)."""
    paired = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return paired.replace("\x00", "").replace("\ufffd", "")


def _check_archive(filename: str, data: bytes) -> None:
    """Refuse a zip whose parts would unpack past the bounds, before anything is inflated.

    The declared sizes are enough: zipfile never yields more than a part's declared size (and fails its CRC
    check when the data would say otherwise).
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise InvalidInputError(f"{filename!r} is not a readable DOCX file: {exc}", code="corrupt_file") from exc
    if len(parts) > MAX_ARCHIVE_PARTS:
        raise _too_large(filename, f"has {len(parts)} parts, over the limit of {MAX_ARCHIVE_PARTS}")
    unpacked = sum(part.file_size for part in parts)
    if unpacked > MAX_UNPACKED_BYTES:
        raise _too_large(filename, f"unpacks to {unpacked} bytes, over the limit of {MAX_UNPACKED_BYTES}")


def _too_large(filename: str, problem: str) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"{filename!r} {problem}", code="document_too_large")
