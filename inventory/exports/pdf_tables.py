"""Readable tables for PDF documents: a filled heading row repeated on every page, light zebra rows, numbers
right-aligned with thousands separators and their unit, and one format for every date and time.

Rows are mappings; a column names the key it shows and, for quantities and amounts, the key holding their
unit (``unit_of_measure``, ``currency``), so a mixed table still says "12.5 kg" and "40 each".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from inventory.exports.pdf_style import ACCENT, DATE_FORMAT, FONT, TIMESTAMP_FORMAT

if TYPE_CHECKING:
    from inventory.exports.pdf_document import ReportDocument

Kind = Literal["text", "number", "money", "percent"]
ZEBRA = (242, 245, 249)
RULE = (214, 220, 228)
# Quantities and amounts show the four decimals their columns keep, trailing zeros dropped (12.5 kg, 1,250 each,
# 0.0004 kg); amounts keep at least two (12.50 EUR, 0.0049 EUR): a washer at 0.0049 is not 0.00.
MAX_DECIMALS = 4
MONEY_DECIMALS = 2


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: Kind = "text"
    unit_key: str | None = None  # the row's key that holds this value's unit of measure or currency
    unit: str | None = None  # a fixed unit, when every row shares one
    decimals: int | None = None  # fixed decimals; None: as many as the value has (up to 4; money at least 2)
    width: float = 1.0  # relative to the other columns

    @property
    def right_aligned(self) -> bool:
        return self.kind != "text"


def format_number(value: Any, decimals: int | None = None, at_least: int = 0) -> str:
    """1234.5 -> '1,234.5'; with ``decimals`` fixed: 1234.5, 2 -> '1,234.50'; ``at_least``: 12.5, 2 -> '12.50'."""
    number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    if decimals is not None:
        return f"{number:,.{decimals}f}"
    text = f"{round(number, MAX_DECIMALS):,.{MAX_DECIMALS}f}"
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0").ljust(at_least, "0")
    text = f"{whole}.{fraction}" if fraction else whole
    return "0" if text == "-0" else text


def in_zone(value: datetime, zone: tzinfo = UTC) -> datetime:
    """The time in ``zone`` (the reader's), as exports show it; as stored when the zone has no year for it (a
    year-1 time west of it, or a naive one read as local time: Python cannot place it before year 1)."""
    try:
        return value.astimezone(zone)
    except (OverflowError, ValueError):
        return value


def format_value(value: Any, kind: Kind = "text", decimals: int | None = None, zone: tzinfo = UTC) -> str:
    """One cell's text: empty for nothing, dates as 2026-05-04, times as 2026-05-04 12:30 (in ``zone``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return in_zone(value, zone).strftime(TIMESTAMP_FORMAT)
    if isinstance(value, date):
        return value.strftime(DATE_FORMAT)
    if kind == "percent" and isinstance(value, int | float | Decimal):
        return f"{float(value) * 100:,.{1 if decimals is None else decimals}f}%"
    if kind == "money" and isinstance(value, int | float | Decimal):
        return format_number(value, decimals, at_least=MONEY_DECIMALS)
    if kind == "number" and isinstance(value, int | float | Decimal):
        return format_number(value, decimals)
    return str(value)


def cell_text(row: Mapping[str, Any], column: Column, zone: tzinfo = UTC) -> str:
    text = format_value(row.get(column.key), column.kind, column.decimals, zone)
    unit = column.unit or (row.get(column.unit_key) if column.unit_key else None)
    return f"{text} {unit}" if text and unit else text


def draw_table(
    pdf: ReportDocument, columns: Sequence[Column], rows: Sequence[Mapping[str, Any]], size: float = 8.5
) -> None:
    """The table at the current position; page breaks repeat the heading row."""
    # Here, not at the top: the API imports this module for its columns and formats, and fpdf loads with a document.
    from fpdf.enums import TableBordersLayout, TableCellFillMode
    from fpdf.fonts import FontFace

    pdf.set_font(FONT, "", size)
    # Rows outside the zebra stripes are drawn with the current fill colour: white, whatever drew last.
    pdf.set_fill_color(255, 255, 255)
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.2)
    headings = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=ACCENT)
    with pdf.table(
        width=pdf.usable_width(),
        col_widths=tuple(c.width for c in columns),
        text_align=tuple("RIGHT" if c.right_aligned else "LEFT" for c in columns),
        headings_style=headings,
        cell_fill_color=ZEBRA,
        cell_fill_mode=TableCellFillMode.ROWS,
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        line_height=size * 0.55,
        padding=(1.2, 1.5),
        repeat_headings=1,
        first_row_as_headings=True,
    ) as table:
        heading = table.row()
        for column in columns:
            heading.cell(column.label, align="RIGHT" if column.right_aligned else "LEFT")
        for row in rows:
            cells = table.row()
            for column in columns:
                cells.cell(cell_text(row, column, pdf.zone))
    pdf.ln(2)
