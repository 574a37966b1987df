"""Document files built by hand for upload and extraction tests."""

from __future__ import annotations

import io


def minimal_pdf(pages: list[str], to_unicode: bytes | None = None) -> bytes:
    """A valid PDF with one line of Helvetica text per page, built by hand (no PDF writer needed); ``to_unicode``,
    a CMap's ``bfchar`` entries (``<41> <0042>``), maps the font's codes to text as a ToUnicode stream."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    font_extra = ""
    if to_unicode is not None:
        cmap = (
            b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Test def "
            b"1 begincodespacerange <00> <FF> endcodespacerange 1 beginbfchar " + to_unicode + b" endbfchar "
            b"endcmap CMapName currentdict /CMap defineresource pop end end"
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream")
        font_extra = f" /ToUnicode {len(objects)} 0 R"
    kids = []
    for text in pages:
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        content_number = len(objects) + 2
        page_number = len(objects) + 1
        kids.append(f"{page_number} 0 R")
        font = f"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica{font_extra} >>"
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_number} 0 R "
            f"/Resources << /Font << /F1 {font} >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>".encode()
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer << /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()
