"""Import delivery history from CSV, validated row by row.

Columns (header names; ``mapping`` renames another export's headers onto these):

| column | required | meaning |
|---|---|---|
| supplier | yes* | supplier code, or its name (a value over 64 characters is a name) |
| supplier_code, supplier_name | yes* | code and name separately (*one of the three supplier columns) |
| country | no | origin country: ISO 3166 alpha-2 or alpha-3 code or English name; defaults to the supplier's |
| product | no | product SKU; unknown SKUs reject the row |
| category | no | product category (used when no product is given) |
| shipment_mode | no | road, rail, sea, air or a synonym (``MODE_SYNONYMS``, ``mode_mapping``); blank: unknown |
| order_date, promised_date | yes | dates (``date_format``, or the first of ``DATE_FORMATS`` that reads them all) |
| delivered_date | no | blank while the line is still open |
| quantity | yes | ordered quantity, > 0 |
| value | yes | line value, >= 0 (the unit price value / quantity also feeds price history when a product is given) |
| quantity_received, quantity_rejected | no | received (default: all, once delivered) and rejected quantities |
| reference | no | the source system's order/line reference (part of the row's identity) |

A code is derived from the name when absent (``derived_code``); suppliers are matched by code, then by name,
and created when ``create_suppliers`` is set (otherwise the row is rejected). Mode synonyms cover what
exports say (truck, ocean, air charter, courier, parcel ...).

A row's identity (supplier, product, category, dates ordered and promised, quantity, value, reference) makes
re-imports idempotent: the same row again only updates its delivery outcome. Valid rows are imported and
invalid ones reported; a file that cannot be read at all, or lacks a required column, changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

import asyncpg

from common.errors import InvalidInputError

COLUMNS = (
    "supplier",
    "supplier_code",
    "supplier_name",
    "country",
    "product",
    "category",
    "shipment_mode",
    "order_date",
    "promised_date",
    "delivered_date",
    "quantity",
    "value",
    "quantity_received",
    "quantity_rejected",
    "reference",
)
REQUIRED = ("order_date", "promised_date", "quantity", "value")
SUPPLIER_COLUMNS = ("supplier", "supplier_code", "supplier_name")
MODES = ("road", "rail", "sea", "air")
# What exports call the four modes (lower case, spaces and hyphens as one space).
MODE_SYNONYMS = {
    **{m: m for m in MODES},
    **dict.fromkeys(("truck", "lorry", "ground", "land", "courier", "parcel", "express", "van", "ltl", "ftl"), "road"),
    **dict.fromkeys(("train", "railway", "intermodal rail"), "rail"),
    **dict.fromkeys(("ocean", "sea freight", "ocean freight", "vessel", "ship", "maritime", "fcl", "lcl"), "sea"),
    **dict.fromkeys(("air freight", "air charter", "airfreight", "plane", "aircraft", "air express"), "air"),
}
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%b-%Y", "%d-%b-%y", "%b %d, %Y",
                "%d %B %Y", "%Y%m%d")  # fmt: skip
MAX_ROWS = 500_000
MAX_REPORTED_REJECTIONS = 1_000
SUPPLIER_CODE_MAX = 64


@dataclass(frozen=True)
class ImportOptions:
    mapping: dict[str, str] | None = None
    date_format: str | None = None  # None: detected from the order dates
    create_suppliers: bool = False
    dry_run: bool = False
    mode_mapping: dict[str, str] | None = None  # the export's own mode names onto road/rail/sea/air


def parse_mode_mapping(text: str | None) -> dict[str, str] | None:
    """``theirs=ours,...`` (e.g. ``Air Charter=air,Boat=sea``); every target must be one of ``MODES``."""
    if not text:
        return None
    mapping = {}
    for part in text.split(","):
        theirs, sep, ours = part.partition("=")
        if not sep or not theirs.strip() or ours.strip().lower() not in MODES:
            raise InvalidInputError(
                f"mode mapping entry {part!r} is not name=mode with mode one of {', '.join(MODES)}",
                code="invalid_mapping",
                details={"entry": part},
            )
        mapping[_mode_key(theirs)] = ours.strip().lower()
    return mapping


def _mode_key(text: str) -> str:
    return " ".join(re.split(r"[\s_-]+", text.strip().lower())).strip()


def normalise_mode(text: str, extra: dict[str, str] | None = None) -> tuple[str | None, str | None]:
    """(mode or None when blank, error)."""
    if not text.strip():
        return None, None
    key = _mode_key(text)
    mode = (extra or {}).get(key) or MODE_SYNONYMS.get(key)
    if mode is None:
        return None, (
            f"shipment_mode {text!r} is not road, rail, sea, air or a known synonym (add it with a mode mapping, "
            "e.g. 'Boat=sea')"
        )
    return mode, None


def normalise_country(text: str) -> tuple[str | None, str | None]:
    """ISO 3166 alpha-2 code from an alpha-2 or alpha-3 code or a country name (pycountry's table)."""
    import pycountry

    if not text.strip():
        return None, None
    try:
        found = pycountry.countries.lookup(text.strip())
    except LookupError:
        return None, f"country {text!r} is not an ISO 3166 code or a country name"
    return str(found.alpha_2), None


def derived_code(name: str) -> str:
    """A supplier code from a name: the name itself when it fits, else a prefix plus a short hash (stable)."""
    if len(name) <= SUPPLIER_CODE_MAX:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: SUPPLIER_CODE_MAX - 9].rstrip()}~{digest}"


def detect_date_format(values: list[str]) -> str:
    """The one of ``DATE_FORMATS`` that reads the most non-blank values (the first on a tie), so that a few
    malformed dates are reported row by row instead of refusing the file; refuses when none reads any."""
    sample = [v for v in values if v][:2_000]
    best, best_count = None, 0
    for fmt in DATE_FORMATS:
        count = 0
        for value in sample:
            try:
                datetime.strptime(value, fmt)
                count += 1
            except ValueError:
                pass
        if count > best_count:
            best, best_count = fmt, count
    if best is not None:
        return best
    raise InvalidInputError(
        "could not detect the date format of order_date (tried " + ", ".join(DATE_FORMATS) + "); give date_format",
        code="invalid_date_format",
        details={"examples": sample[:3]},
    )


def parse_mapping(text: str | None) -> dict[str, str] | None:
    """``ours=theirs,ours=theirs`` (the CLI's and the form field's syntax)."""
    if not text:
        return None
    mapping = {}
    for part in text.split(","):
        ours, sep, theirs = part.partition("=")
        if not sep or not ours.strip() or not theirs.strip():
            raise InvalidInputError(
                f"mapping entry {part!r} is not column=header", code="invalid_mapping", details={"entry": part}
            )
        mapping[ours.strip()] = theirs.strip()
    return mapping


def read_rows(data: bytes, options: ImportOptions) -> list[dict[str, str]]:
    """Decode and rename columns; refuses (changing nothing) files that are unreadable or lack a column."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"the file is not UTF-8 text: {exc}", code="invalid_csv") from exc
    # newline="" semantics: let the csv module see raw line ends (a bare CR inside a field is data).
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        headers = [h.strip() for h in reader.fieldnames or []]
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
    try:
        for raw in reader:
            if len(rows) >= MAX_ROWS:
                raise InvalidInputError(f"the file has more than {MAX_ROWS} rows; split it", code="too_many_rows")
            cleaned = {(k or "").strip(): (v or "").strip() if isinstance(v, str) else "" for k, v in raw.items()}
            rows.append({c: cleaned.get(h, "") for c, h in source_of.items()})
    except csv.Error as exc:
        raise InvalidInputError(f"the CSV is malformed: {exc}", code="invalid_csv") from exc
    return rows


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

    @property
    def key(self) -> str:
        identity = "|".join(
            str(x)
            for x in (
                self.supplier,
                self.product,
                self.category,
                self.order_date,
                self.promised_date,
                self.quantity,
                self.value,
                self.reference,
            )
        )
        return hashlib.sha256(identity.encode()).hexdigest()


def validate_row(
    line: int, row: dict[str, str], date_format: str, mode_mapping: dict[str, str] | None = None
) -> tuple[ValidRow | None, list[str]]:
    errors: list[str] = []

    def parse_date(column: str, required: bool) -> date | None:
        text = row[column]
        if not text:
            if required:
                errors.append(f"{column} is required")
            return None
        try:
            return datetime.strptime(text, date_format).date()
        except ValueError:
            errors.append(f"{column} {text!r} is not a date in the format {date_format}")
            return None

    def parse_number(column: str, required: bool, positive: bool = False) -> Decimal | None:
        text = row[column]
        if not text:
            if required:
                errors.append(f"{column} is required")
            return None
        try:
            number = Decimal(text.replace(",", ""))
        except InvalidOperation:
            errors.append(f"{column} {text!r} is not a number")
            return None
        if not number.is_finite() or number < 0 or (positive and number == 0):
            errors.append(f"{column} must be {'greater than 0' if positive else 'at least 0'}, got {text}")
            return None
        if abs(number) >= Decimal("1e14"):
            errors.append(f"{column} {text} is too large")
            return None
        # Stored with 4 decimals: a positive amount that rounds to zero would not be positive any more.
        if positive and round(number, 4) == 0:
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
    quantity = parse_number("quantity", True, positive=True)
    value = parse_number("value", True)
    received = parse_number("quantity_received", False)
    rejected = parse_number("quantity_rejected", False) or Decimal(0)
    if received is not None and delivered is None:
        errors.append("quantity_received is given but delivered_date is blank")
    if received is not None and rejected > received:
        errors.append("quantity_rejected exceeds quantity_received")
    if len(row["category"]) > 100 or len(row["reference"]) > 200:
        errors.append("category (100) or reference (200 characters) is too long")
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
        ),
        [],
    )


async def import_history(
    conn: asyncpg.Connection, tenant_id: UUID, data: bytes, options: ImportOptions
) -> dict[str, Any]:
    """Validate every row, import the valid ones (unless ``dry_run``), and report the rejected ones."""
    rows = read_rows(data, options)
    date_format = options.date_format or detect_date_format([r["order_date"] for r in rows])
    known = await conn.fetch("SELECT id, code, name FROM app.suppliers")
    suppliers = {r["code"]: r["id"] for r in known}
    by_name = {r["name"]: r["code"] for r in known}
    products = {r["sku"]: r["id"] for r in await conn.fetch("SELECT id, sku FROM app.products")}
    rejections: list[dict[str, Any]] = []
    valid: list[ValidRow] = []
    new_suppliers: dict[str, tuple[str, str | None]] = {}
    for index, row in enumerate(rows, start=2):  # line 1 is the header
        parsed, errors = validate_row(index, row, date_format, options.mode_mapping)
        if parsed is not None:
            if parsed.supplier not in suppliers and not row["supplier_code"] and parsed.supplier_name in by_name:
                parsed.supplier = by_name[parsed.supplier_name]  # an existing supplier, named instead of coded
            if parsed.supplier not in suppliers:
                if options.create_suppliers:
                    new_suppliers.setdefault(parsed.supplier, (parsed.supplier_name, parsed.country))
                else:
                    errors.append(f"unknown supplier {parsed.supplier!r} (set create_suppliers to create it)")
            if parsed.product is not None and parsed.product not in products:
                errors.append(f"unknown product SKU {parsed.product!r}")
        if errors:
            rejections.append({"line": index, "errors": errors, "row": row})
        else:
            assert parsed is not None
            valid.append(parsed)
    keys = [r.key for r in valid]
    duplicates_in_file = len(keys) - len(set(keys))
    report: dict[str, Any] = {
        "rows": len(rows),
        "valid": len(valid),
        "rejected": len(rejections),
        "duplicates_in_file": duplicates_in_file,
        "inserted": 0,
        "updated": 0,
        "created_suppliers": sorted(new_suppliers),
        "dry_run": options.dry_run,
        "date_format": date_format,
        "rejections": rejections[:MAX_REPORTED_REJECTIONS],
        "rejections_truncated": len(rejections) > MAX_REPORTED_REJECTIONS,
    }
    if options.dry_run or not valid:
        return report
    for code, (name, country) in new_suppliers.items():
        suppliers[code] = await conn.fetchval(
            "INSERT INTO app.suppliers (tenant_id, code, name, country) VALUES ($1, $2, $3, $4) RETURNING id",
            tenant_id,
            code,
            name,
            country,
        )
    unique = {r.key: r for r in valid}  # the last occurrence of a repeated row wins
    inserted = 0
    for chunk in _chunks(list(unique.values()), 2_000):
        results = await conn.fetch(
            """
            INSERT INTO app.supplier_deliveries (tenant_id, supplier_id, product_id, category, origin_country,
                shipment_mode, order_date, promised_date, delivered_date, quantity, quantity_received,
                quantity_rejected, value, reference, import_key)
            SELECT $1, x.supplier_id, x.product_id, x.category, x.origin_country, x.shipment_mode, x.order_date,
                   x.promised_date, x.delivered_date, x.quantity, x.quantity_received, x.quantity_rejected,
                   x.value, x.reference, x.import_key
            FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::date[], $8::date[],
                        $9::date[], $10::numeric[], $11::numeric[], $12::numeric[], $13::numeric[], $14::text[],
                        $15::text[])
                 AS x(supplier_id, product_id, category, origin_country, shipment_mode, order_date, promised_date,
                      delivered_date, quantity, quantity_received, quantity_rejected, value, reference, import_key)
            ON CONFLICT (tenant_id, import_key) DO UPDATE
                SET delivered_date = EXCLUDED.delivered_date, quantity_received = EXCLUDED.quantity_received,
                    quantity_rejected = EXCLUDED.quantity_rejected, shipment_mode = EXCLUDED.shipment_mode,
                    origin_country = EXCLUDED.origin_country
            RETURNING (xmax = 0) AS inserted
            """,
            tenant_id,
            [suppliers[r.supplier] for r in chunk],
            [products.get(r.product) if r.product else None for r in chunk],
            [r.category for r in chunk],
            [r.country for r in chunk],
            [r.mode for r in chunk],
            [r.order_date for r in chunk],
            [r.promised_date for r in chunk],
            [r.delivered_date for r in chunk],
            [r.quantity for r in chunk],
            [r.received for r in chunk],
            [r.rejected for r in chunk],
            [r.value for r in chunk],
            [r.reference for r in chunk],
            [r.key for r in chunk],
        )
        inserted += sum(1 for x in results if x["inserted"])
        priced = [r for r in chunk if r.product is not None and 0 < _unit_price(r) < Decimal("1e10")]
        await conn.execute(
            """
            INSERT INTO app.supplier_price_history (tenant_id, supplier_id, product_id, observed_on, unit_price,
                import_key)
            SELECT $1, x.supplier_id, x.product_id, x.observed_on, x.unit_price, x.import_key
            FROM unnest($2::uuid[], $3::uuid[], $4::date[], $5::numeric[], $6::text[])
                 AS x(supplier_id, product_id, observed_on, unit_price, import_key)
            ON CONFLICT (tenant_id, import_key) DO NOTHING
            """,
            tenant_id,
            [suppliers[r.supplier] for r in priced],
            [products[r.product] for r in priced if r.product is not None],
            [r.order_date for r in priced],
            [_unit_price(r) for r in priced],
            [r.key for r in priced],
        )
    report["inserted"] = inserted
    report["updated"] = len(unique) - inserted
    return report


def _unit_price(row: ValidRow) -> Decimal:
    return round(row.value / row.quantity, 4)


def _chunks(items: list[ValidRow], size: int) -> list[list[ValidRow]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
