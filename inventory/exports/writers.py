"""CSV, Excel and PDF writers over batches of rows.

CSV is produced chunk by chunk. Excel uses xlsxwriter's constant-memory mode: rows go to a temporary
file as they arrive (one row in memory at a time) and the finished workbook is streamed from disk.
Numbers stay numbers, dates and timestamps become Excel dates; timestamps are in the reader's time zone
(their profile's, UTC without one): CSV writes them with their offset, xlsx names the zone in their headings.
A PDF holds at most ``PDF_MAX_ROWS`` rows (a report, not a data dump) in a readable table with human column
labels; the stock report adds a bar chart.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import xlsxwriter

from inventory.exports.pdf_style import ACCENT, FONT
from inventory.exports.pdf_tables import MONEY_DECIMALS, Column, draw_table, format_number, in_zone

if TYPE_CHECKING:
    from inventory.exports.pdf_document import ReportDocument

PDF_MAX_ROWS = 2000
# A worksheet holds 1,048,576 rows, the heading one of them; xlsxwriter drops a cell past it without raising.
XLSX_MAX_ROWS = 1_048_575
# Excel's limit for a cell's text, in UTF-16 units; xlsxwriter cuts a longer one (returning -2) without raising.
XLSX_MAX_TEXT = 32_767
FILE_CHUNK = 64 * 1024


class SheetFullError(RuntimeError):
    """A row past the worksheet's last: the export's preparation refuses such a set, so this is a bug if seen."""


class CellTextTooLongError(RuntimeError):
    """A text past a cell's limit: the export's preparation refuses such a set, so this is seen only for a row
    written after it was checked; the download is broken off rather than the text cut."""


def _text(value: Any, zone: tzinfo) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return in_zone(value, zone).isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")
    return str(value)


# A spreadsheet opening a CSV evaluates a cell that starts with one of these as a formula (OWASP "CSV
# injection"): a text value that does is written with a leading single quote, which spreadsheets show as text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Where the locale writes decimal commas, Excel reads a .csv with ";" as its separator: a cell starts after every
# ";" in a value, and after a line break in one, since our quotes, placed for commas, fall out of step with its
# cells past the first column (it reads a quote inside a cell as text). Quoting cannot keep "x;=1+1" one cell
# there, so a trigger (or a quote, which it would drop) after ";" or a line break gets the same single quote.
_INNER_CELL_START = re.compile(r'(?<=[;\r\n])(?=[=+\-@\t\r"])')
EXCEL_FIRST_YEAR = 1900
# Excel on Windows reads a CSV without a byte-order mark in the ANSI code page ("Müller" shows as "MÃ¼ller"), while a
# plain UTF-8 reader takes the mark for part of the first heading: the export's caller chooses (build.prepare).
UTF8_BOM = "\ufeff"
# A stock-value bar: its label, the amount and the amount's currency.
Bar = tuple[str, Decimal, str]


def _csv_text(value: Any, zone: tzinfo) -> str:
    text = _text(value, zone)
    # Only text can carry a formula: numbers (negative quantities included) stay numbers.
    if not isinstance(value, str):
        return text
    text = _INNER_CELL_START.sub("'", text)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


async def csv_chunks(
    header: Sequence[str], batches: AsyncIterator[list[tuple]], zone: tzinfo = UTC, bom: bool = False
) -> AsyncIterator[bytes]:
    """``bom``: the first chunk starts with a UTF-8 byte-order mark."""
    buffer = io.StringIO()
    if bom:
        buffer.write(UTF8_BOM)
    writer = csv.writer(buffer)
    writer.writerow(header)
    async for batch in batches:
        writer.writerows([_csv_text(v, zone) for v in row] for row in batch)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # the header alone, when no row matched
        yield buffer.getvalue().encode()


async def xlsx_chunks(
    title: str, header: Sequence[str], batches: AsyncIterator[list[tuple]], zone: tzinfo = UTC
) -> AsyncIterator[bytes]:
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        workbook = xlsxwriter.Workbook(path, {"constant_memory": True, "tmpdir": tempfile.gettempdir()})
        sheet = workbook.add_worksheet(title[:31])
        bold = workbook.add_format({"bold": True})
        stamp = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        day = workbook.add_format({"num_format": "yyyy-mm-dd"})
        sheet.write_row(0, 0, list(header), bold)
        sheet.freeze_panes(1, 0)
        row_index = 1

        def write(batch: list[tuple], first: int) -> None:
            for offset, row in enumerate(batch):
                for col, value in enumerate(row):
                    # -1: out of the sheet's range, the cell not written; -2: a text cut to the cell's limit.
                    # Either breaks the download off, never a short file.
                    result = _cell(sheet, first + offset, col, value, stamp, day, zone)
                    if result == -1:
                        raise SheetFullError(f"row {first + offset + 1} is past the worksheet's last")
                    if result == -2:
                        raise CellTextTooLongError(
                            f"row {first + offset + 1}, column {header[col]}: a text past {XLSX_MAX_TEXT:,} characters"
                        )

        async for batch in batches:
            await asyncio.to_thread(write, batch, row_index)
            row_index += len(batch)
        await asyncio.to_thread(workbook.close)
        with open(path, "rb") as finished:  # noqa: ASYNC230 (local temp file, read in 64 KiB steps)
            while chunk := finished.read(FILE_CHUNK):
                yield chunk
    finally:
        os.unlink(path)


def _excel_can_date(value: date, zone: tzinfo) -> bool:
    """Excel's calendar starts on 1900-01-01; a time is judged in the zone it is written in."""
    if value.year < EXCEL_FIRST_YEAR:
        return False
    return not isinstance(value, datetime) or in_zone(value, zone).year >= EXCEL_FIRST_YEAR


def _cell(sheet: Any, row: int, col: int, value: Any, stamp: Any, day: Any, zone: tzinfo) -> int:
    """xlsxwriter's result: 0, or negative where the cell was not written as given (-1: outside the sheet, -2: a
    text cut to ``XLSX_MAX_TEXT``)."""
    if value is None:
        return 0
    if isinstance(value, bool):
        result: int = sheet.write_boolean(row, col, value)
    elif isinstance(value, Decimal | int | float):
        result = sheet.write_number(row, col, float(value))
    elif isinstance(value, date) and not _excel_can_date(value, zone):
        # Excel's calendar starts in 1900 (xlsxwriter fails on an earlier date): such a value is written as text.
        result = sheet.write_string(row, col, value.isoformat())
    elif isinstance(value, datetime):
        result = sheet.write_datetime(row, col, in_zone(value, zone).replace(tzinfo=None), stamp)
    elif isinstance(value, date):
        result = sheet.write_datetime(row, col, datetime(value.year, value.month, value.day), day)
    else:
        # Always a string cell, never write(): xlsxwriter's write() would store '=...' text as a live formula.
        result = sheet.write_string(row, col, str(value))
    return result


def pdf_report(
    title: str,
    tenant: str,
    generated: datetime,
    filter_text: str,
    columns: Sequence[Column],
    rows: Sequence[Mapping[str, Any]],
    chart: tuple[str, list[Bar]] | None = None,
) -> bytes:
    """A dataset as a readable table (see ``pdf_tables``), with the stock report's bar chart on top."""
    # fpdf loads with the first PDF, not when the API imports the export routes (~2.6 s of CPU per replica).
    from inventory.exports.pdf_document import ReportDocument

    pdf = ReportDocument(title, tenant, generated, filter_text)
    pdf.add_page()
    pdf.title_block([("Rows", f"{len(rows):,}")])
    if chart is not None:
        _bar_chart(pdf, *chart)
        pdf.ln(3)
    draw_table(pdf, columns, rows)
    return pdf.finish()


def _bar_chart(pdf: ReportDocument, caption: str, bars: list[Bar]) -> None:
    """A horizontal bar chart drawn with PDF primitives: a handful of bars needs no plotting library. Amounts read
    as the tables' do (0.0049 EUR, not 0.00); without bars the caption alone says why."""
    pdf.heading(caption, 11)
    pdf.set_font(FONT, "", 9)
    largest = float(max((value for _, value, _ in bars), default=0)) or 1.0
    width = 160.0
    pdf.set_fill_color(*ACCENT)
    for label, value, currency in bars:
        y = pdf.get_y()
        pdf.set_x(pdf.l_margin)
        pdf.cell(35, 6, label)
        pdf.rect(pdf.l_margin + 36, y + 1, max(width * float(value) / largest, 0.5), 4, style="F")
        pdf.set_xy(pdf.l_margin + 38 + width, y)
        amount = format_number(value, at_least=MONEY_DECIMALS)
        pdf.cell(60, 6, f"{amount} {currency}", new_x="LMARGIN", new_y="NEXT")
