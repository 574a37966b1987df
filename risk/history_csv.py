"""Reading a delivery-history CSV: decoding, renaming the export's headers onto ours, refusing a file that
lacks a required column (its date format is told by ``common.date_formats``)."""

from __future__ import annotations

import csv
import io

from common.errors import InvalidInputError
from risk.history_format import COLUMNS, REQUIRED, SUPPLIER_COLUMNS, ImportOptions

MAX_ROWS = 500_000


def read_rows(data: bytes, options: ImportOptions) -> tuple[list[dict[str, str]], list[int]]:
    """Decode and rename columns; refuses (changing nothing) files that are unreadable or lack a column. The rows,
    and the line each starts on in the file as an editor numbers it: blank lines are skipped and a quoted line
    break runs a row on, so the count of rows read is not the line number."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"the file is not UTF-8 text: {exc}", code="invalid_csv") from exc
    # newline="" semantics: let the csv module see raw line ends (a bare CR inside a field is data).
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        headers = [h.strip() for h in next(reader, [])]
    except csv.Error as exc:
        raise InvalidInputError(f"the CSV header row is malformed: {exc}", code="invalid_csv") from exc
    if not headers:
        raise InvalidInputError("the file is empty or has no header row", code="invalid_csv")
    mapping = options.mapping or {}
    unknown = sorted(set(mapping) - set(COLUMNS))
    if unknown:
        raise InvalidInputError(
            f"mapping names unknown columns: {', '.join(unknown)}",
            code="invalid_mapping",
            details={"unknown": unknown, "columns": list(COLUMNS)},
        )
    source_of = {column: mapping.get(column, column) for column in COLUMNS}
    missing_headers = sorted(h for c, h in source_of.items() if c in mapping and h not in headers)
    missing = sorted(c for c in REQUIRED if source_of[c] not in headers)
    if not any(source_of[c] in headers for c in SUPPLIER_COLUMNS):
        missing.append("supplier (or supplier_code / supplier_name)")
    if missing_headers or missing:
        raise InvalidInputError(
            "the file lacks required columns: " + ", ".join(missing or missing_headers),
            code="missing_columns",
            details={"missing": missing, "mapped_headers_not_found": missing_headers, "headers": headers},
        )
    rows: list[dict[str, str]] = []
    lines: list[int] = []
    try:
        start = reader.line_num + 1
        for raw in reader:  # reader.line_num is now the row's last line
            if raw:  # a blank line is no row
                if len(rows) >= MAX_ROWS:
                    raise InvalidInputError(f"the file has more than {MAX_ROWS} rows; split it", code="too_many_rows")
                # A value past the last header is dropped, a missing one blank (as csv.DictReader read them).
                cleaned = dict(zip(headers, (value.strip() for value in raw), strict=False))
                rows.append({c: cleaned.get(h, "") for c, h in source_of.items()})
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InvalidInputError(f"the CSV is malformed: {exc}", code="invalid_csv") from exc
    return rows, lines
