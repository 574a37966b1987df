"""Text files in the Unicode encodings editors save with a byte order mark (Excel's "Unicode Text", Notepad's
"Unicode" are UTF-16 LE with a BOM)."""

from __future__ import annotations

import pytest

from common.errors import InvalidInputError
from copilot.extraction import extract

CSV = "supplier,penalty\nACME Stahl,2% je Woche\n"
MARKDOWN = "# Strafen\nLieferverzug kostet 2% je Woche.\n"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"])
def test_a_csv_with_a_utf16_or_utf32_byte_order_mark_is_read(encoding):
    # Before, its NUL bytes had it refused as "binary, not text".
    # Python's plain "utf-16" and "utf-32" write the mark themselves (in the machine's order).
    encoded = CSV.encode(encoding) if encoding in ("utf-16", "utf-32") else ("\ufeff" + CSV).encode(encoding)
    sections = extract("prices.csv", encoded)
    assert sections[0].text == "supplier: ACME Stahl; penalty: 2% je Woche"


def test_a_utf16_markdown_file_keeps_its_headings():
    sections = extract("notes.md", "\ufeff".encode("utf-16-le") + MARKDOWN.encode("utf-16-le"))
    assert [(s.heading, s.text) for s in sections] == [("Strafen", "Lieferverzug kostet 2% je Woche.")]


def test_a_utf16_file_holding_a_nul_character_is_refused():
    with pytest.raises(InvalidInputError) as refused:
        extract("notes.txt", "a\x00b".encode("utf-16"))
    assert refused.value.code == "corrupt_file"


def test_a_utf16_file_cut_mid_character_is_refused_as_corrupt():
    with pytest.raises(InvalidInputError) as refused:
        extract("notes.txt", "abc".encode("utf-16")[:-1])
    assert refused.value.code == "corrupt_file" and "UTF-16" in str(refused.value)


def test_utf8_without_a_bom_and_with_one_still_reads():
    assert extract("a.txt", "Größe".encode())[0].text == "Größe"
    assert extract("a.txt", "\ufeffGröße".encode())[0].text == "Größe"
