"""Reading a delivery-history CSV: decoding, renaming the export's headers onto ours, refusing a file that
lacks a required column, and detecting its date format."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

from common.errors import InvalidInputError
from risk.history_format import COLUMNS, DATE_FORMATS, REQUIRED, SUPPLIER_COLUMNS, ImportOptions

MAX_ROWS = 500_000


def detect_date_format(values: list[str]) -> str:
    """The one of ``DATE_FORMATS`` that reads the most non-blank values (pass every date column's), so that a
    few malformed dates are reported row by row instead of refusing the file; refuses when none reads any, or
    when two read as many but disagree (01/02/2024 and 12/01/2024 alone cannot say which is the month)."""
    sample = [v for v in values if v][:6_000]
    readings: dict[str, list[date | None]] = {}
    for fmt in DATE_FORMATS:
        readings[fmt] = [_read(value, fmt) for value in sample]
    counts = {fmt: sum(day is not None for day in days) for fmt, days in readings.items()}
    best = max(DATE_FORMATS, key=lambda fmt: counts[fmt])
    if counts[best] == 0:
        raise InvalidInputError(
            "could not detect the date format (tried " + ", ".join(DATE_FORMATS) + "); give date_format",
            code="invalid_date_format",
            details={"examples": sample[:3]},
        )
    rivals = [f for f in DATE_FORMATS if f != best and counts[f] == counts[best] and readings[f] != readings[best]]
    if rivals:
        raise InvalidInputError(
            f"the dates read as {best} and as {rivals[0]} alike (no day above 12 tells the month): give date_format",
            code="ambiguous_date_format",
            details={"examples": sample[:3], "formats": [best, *rivals]},
        )
    return best


def _read(value: str, fmt: str) -> date | None:
    try:
        return datetime.strptime(value, fmt).date()
    except ValueError:
        return None


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
