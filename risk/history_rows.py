"""Validating one delivery-history row: every problem in it is reported, not only the first."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from risk.history_format import CURRENCY_CODE, SUPPLIER_CODE_MAX, derived_code, normalise_country, normalise_mode

# Commas only between groups of three digits before the point (1,234,567.50).
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")

# pandas' last nanosecond timestamp falls on 2262-04-11; the feature and scoring code reads dates as those.
LATEST_PROMISE = date(2262, 4, 10)
# The delivery columns are numeric(18, 4): four decimals, and below 10^14 once rounded to them.
_RESOLUTION = Decimal("0.0001")
_PAST_NUMERIC = Decimal("1e14")


@dataclass
class ValidRow:
    line: int
    supplier: str  # the code
    supplier_name: str
    country: str | None
    product: str | None
    category: str | None
    mode: str | None
    order_date: date
    promised_date: date
    delivered_date: date | None
    quantity: Decimal
    value: Decimal
    received: Decimal | None
    rejected: Decimal
    reference: str | None
    currency: str  # of value (and so of the unit price it gives); not part of the row's identity

    @property
    def key(self) -> str:
        """The row's identity across imports: one delivery written "10.00" or "10" (a file re-saved by a
        spreadsheet) is one row."""
        identity = (self.supplier, self.product, self.category, self.order_date, self.promised_date, self.quantity,
                    self.value, self.reference)  # fmt: skip
        text = "|".join(f"{x.normalize():f}" if isinstance(x, Decimal) else str(x) for x in identity)
        return hashlib.sha256(text.encode()).hexdigest()


def validate_row(
    line: int,
    row: dict[str, str],
    date_format: str,
    mode_mapping: dict[str, str] | None = None,
    currency: str = "EUR",
) -> tuple[ValidRow | None, list[str]]:
    errors: list[str] = []

    def text_of(column: str, required: bool) -> str | None:
        """The column's text; None (an error when required) when it is blank."""
        if not row[column] and required:
            errors.append(f"{column} is required")
        return row[column] or None

    def parse_date(column: str, required: bool) -> date | None:
        text = text_of(column, required)
        if text is None:
            return None
        try:
            return datetime.strptime(text, date_format).date()
        except ValueError:
            errors.append(f"{column} {text!r} is not a date in the format {date_format}")
            return None

    def parse_number(column: str, required: bool, positive: bool = False) -> Decimal | None:
        text = text_of(column, required)
        if text is None:
            return None
        if "," in text and not _GROUPED.fullmatch(text):
            # A decimal comma (250,00; 1.234,50): read as a thousands separator it would be 100x or 1,000x off.
            errors.append(
                f"{column} {text!r} has a comma that does not separate thousands: write it with a decimal point"
            )
            return None
        try:
            number = Decimal(text.replace(",", ""))
        except InvalidOperation:
            errors.append(f"{column} {text!r} is not a number")
            return None
        if not number.is_finite() or number < 0 or (positive and number == 0):
            errors.append(f"{column} must be {'greater than 0' if positive else 'at least 0'}, got {text}")
            return None
        # A comparison, not abs(): arithmetic rounds to the context and raises Overflow past 1e999999 (1e1000000).
        # Every numeric column is numeric(18, 4), which rounds half away from zero before it checks the 14 digits
        # left of the point: 99999999999999.99995 is stored as 10^14, and failed the whole import until 2026-12-07.
        if number >= _PAST_NUMERIC or number.quantize(_RESOLUTION, ROUND_HALF_UP) >= _PAST_NUMERIC:
            errors.append(f"{column} {text} is too large")
            return None
        # PostgreSQL's numeric (and asyncpg's encoder) keep at most 16,383 decimal places: 1e-20000, or 0e-99999,
        # would fail the whole import at the insert.
        exponent = number.as_tuple().exponent  # an int: the number is finite
        if isinstance(exponent, int) and exponent < -1_000:
            errors.append(f"{column} {text} has more than 1,000 decimal places")
            return None
        # Stored with 4 decimals: a positive amount that rounds to zero would not be positive any more.
        if positive and number.quantize(_RESOLUTION, ROUND_HALF_UP) == 0:
            errors.append(f"{column} {text} is below the 0.0001 resolution")
            return None
        return number

    if any("\x00" in value for value in row.values()):
        return None, ["the row contains a NUL character"]
    given = row["supplier"]
    name = row["supplier_name"] or given
    supplier = row["supplier_code"] or (given if given and len(given) <= SUPPLIER_CODE_MAX else derived_code(name))
    if not supplier:
        errors.append("supplier is required (supplier, supplier_code or supplier_name)")
    elif len(supplier) > SUPPLIER_CODE_MAX:
        errors.append(f"supplier_code is longer than {SUPPLIER_CODE_MAX} characters")
    elif len(name or supplier) > 200:
        errors.append("supplier_name is longer than 200 characters")
    country, country_error = normalise_country(row["country"])
    mode, mode_error = normalise_mode(row["shipment_mode"], mode_mapping)
    errors += [e for e in (country_error, mode_error) if e]
    ordered = parse_date("order_date", True)
    promised = parse_date("promised_date", True)
    delivered = parse_date("delivered_date", False)
    if ordered and promised and promised < ordered:
        errors.append(f"promised_date {promised} is before order_date {ordered}")
    if ordered and delivered and delivered < ordered:
        errors.append(f"delivered_date {delivered} is before order_date {ordered}")
    # What has happened cannot be dated ahead of the clock (a day's leeway for time zones); a promise may lie
    # ahead, but not past the last date the models' pandas timestamps hold (such a row was read as undated).
    latest_happened = date.today() + timedelta(days=1)
    errors += [
        f"{column} {day} is in the future"
        for column, day in (("order_date", ordered), ("delivered_date", delivered))
        if day and day > latest_happened
    ]
    if promised and promised > LATEST_PROMISE:
        errors.append(f"promised_date {promised} is past {LATEST_PROMISE}, the last date the risk models read")
    quantity = parse_number("quantity", True, positive=True)
    value = parse_number("value", True)
    received = parse_number("quantity_received", False)
    rejected = parse_number("quantity_rejected", False) or Decimal(0)
    if received is not None and delivered is None:
        errors.append("quantity_received is given but delivered_date is blank")
    # A delivered row without a received quantity counts as received in full (the deliveries view does so).
    counted = received if received is not None else (quantity if delivered else None)
    if counted is not None and rejected > counted:
        errors.append(f"quantity_rejected exceeds {'quantity_received' if received is not None else 'quantity'}")
    if len(row["category"]) > 100 or len(row["reference"]) > 200:
        errors.append("category (100) or reference (200 characters) is too long")
    row_currency = row["currency"].upper() or currency
    if not CURRENCY_CODE.fullmatch(row_currency):
        errors.append(f"currency {row['currency']!r} is not an ISO 4217 code such as EUR or USD")
    if errors:
        return None, errors
    assert ordered and promised and quantity is not None and value is not None
    return (
        ValidRow(
            line,
            supplier,
            name or supplier,
            country,
            row["product"] or None,
            row["category"] or None,
            mode,
            ordered,
            promised,
            delivered,
            quantity,
            value,
            received,
            rejected,
            row["reference"] or None,
            row_currency,
        ),
        [],
    )
