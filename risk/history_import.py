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
| currency | no | ISO 4217 code of value; default the file's ``currency`` option (EUR unless given) |

A code is derived from the name when absent (``derived_code``); suppliers are matched by code, then by name,
and created when ``create_suppliers`` is set (otherwise the row is rejected). Mode synonyms cover what
exports say (truck, ocean, air charter, courier, parcel ...).

A row's identity (supplier, product, category, dates ordered and promised, quantity, value, reference) makes
re-imports idempotent: the same row again only updates its delivery outcome. Valid rows are imported and
invalid ones reported; a file that cannot be read at all, or lacks a required column, changes nothing. A unit
price the price history cannot keep at its four decimals (0.00014 each) is left out, not rounded, and reported
in ``price_notes``; its delivery is imported all the same.

The format (columns, ``MODE_SYNONYMS``, ``DATE_FORMATS``, the mapping parsers) is ``risk.history_format``;
reading the file is ``risk.history_csv``; checking one row is ``risk.history_rows``; this module stores them.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from common.date_formats import detect_date_format, parse_date_format
from inventory.pricing import MAX_PRICE_ROUNDING, kept_unit_price
from inventory.schemas import LARGEST_PRICE
from risk.history_csv import read_rows
from risk.history_format import (
    DATE_FORMATS,
    SUPPLIER_CODE_MAX,
    ImportOptions,
    derived_code,
    parse_currency,
    parse_mapping,
    parse_mode_mapping,
)
from risk.history_rows import ValidRow, validate_row

__all__ = [
    "ImportOptions",
    "derived_code",
    "import_history",
    "parse_currency",
    "parse_date_format",
    "parse_mapping",
    "parse_mode_mapping",
    "read_rows",
]

MAX_REPORTED_REJECTIONS = 1_000
# The ValidRow attributes bound to $4..$16 of the deliveries insert, in the order of its unnest() columns.
_UNNESTED_ATTRIBUTES = (
    "category",
    "country",
    "mode",
    "order_date",
    "promised_date",
    "delivered_date",
    "quantity",
    "received",
    "rejected",
    "value",
    "reference",
    "key",
    "currency",
)


async def import_history(
    conn: asyncpg.Connection, tenant_id: UUID, data: bytes, options: ImportOptions
) -> dict[str, Any]:
    """Validate every row, import the valid ones (unless ``dry_run``), and report the rejected ones."""
    rows, lines = read_rows(data, options)
    date_format = parse_date_format(options.date_format) or detect_date_format(
        [r[column] for column in ("order_date", "promised_date", "delivered_date") for r in rows[:2_000]],
        DATE_FORMATS,
    )
    known = await conn.fetch("SELECT id, code, name FROM app.suppliers")
    suppliers = {r["code"]: r["id"] for r in known}
    # Names are not unique: a name two suppliers share tells neither, so such a row is refused, not guessed.
    by_name: dict[str, list[str]] = defaultdict(list)
    for r in sorted(known, key=lambda r: r["code"]):
        by_name[r["name"]].append(r["code"])
    products = {r["sku"]: r["id"] for r in await conn.fetch("SELECT id, sku FROM app.products")}
    # A supplier the file codes in some rows and only names in others is one supplier, new or not: an uncoded
    # row takes the code the file gives its name (a name given two codes tells neither).
    coded_in_file: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        code, name = row["supplier_code"], row["supplier_name"] or row["supplier"]
        if code and name and len(code) <= SUPPLIER_CODE_MAX:
            coded_in_file[name].add(code)
    rejections: list[dict[str, Any]] = []
    valid: list[ValidRow] = []
    new_suppliers: dict[str, tuple[str, str | None]] = {}
    for line, row in zip(lines, rows, strict=True):
        parsed, errors = validate_row(line, row, date_format, options.mode_mapping, options.currency)
        if parsed is not None:
            if parsed.supplier not in suppliers and not row["supplier_code"]:
                name = parsed.supplier_name
                named = sorted(coded_in_file.get(name, ())) or by_name.get(name, [])
                if len(named) > 1:
                    errors.append(f"name {name!r} matches {', '.join(named)}: give supplier_code")
                elif named:
                    parsed.supplier = named[0]  # a supplier named instead of coded
            if parsed.supplier not in suppliers and not options.create_suppliers and not errors:
                errors.append(f"unknown supplier {parsed.supplier!r} (set create_suppliers to create it)")
            if parsed.product is not None and parsed.product not in products:
                errors.append(f"unknown product SKU {parsed.product!r}")
        if errors:
            rejections.append({"line": line, "errors": errors, "row": row})
        else:
            assert parsed is not None
            valid.append(parsed)
    for parsed in valid:  # only suppliers with a row to import are created (and reported)
        if parsed.supplier not in suppliers:
            new_suppliers.setdefault(parsed.supplier, (parsed.supplier_name, parsed.country))
    keys = [r.key for r in valid]
    duplicates_in_file = len(keys) - len(set(keys))
    unique = {r.key: r for r in valid}  # the last occurrence of a repeated row wins
    prices = {key: _unit_price(r) for key, r in unique.items()}
    price_notes = [{"line": unique[key].line, "reason": why} for key, (_, why) in prices.items() if why]
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
        "prices_left_out": len(price_notes),  # rows imported whose unit price is not a price observation
        "price_notes": price_notes[:MAX_REPORTED_REJECTIONS],
    }
    if options.dry_run or not valid:
        return report
    # A new supplier's currency is its deliveries', when they agree on one: orders to it then default to it.
    currencies_of: dict[str, set[str]] = defaultdict(set)
    for parsed in valid:
        currencies_of[parsed.supplier].add(parsed.currency)
    created: list[str] = []
    for code, (name, country) in sorted(new_suppliers.items()):
        currencies = currencies_of[code]
        # An import running beside this one may have created the supplier since it was read: its row is taken
        # as it stands (the no-op update locks and returns it); until 2026-12-07 the second import failed, a 500.
        # In code order, so two imports creating the same suppliers lock them in one order and never deadlock.
        supplier = await conn.fetchrow(
            "INSERT INTO app.suppliers (tenant_id, code, name, country, currency) VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT (tenant_id, code) DO UPDATE SET code = EXCLUDED.code RETURNING id, (xmax = 0) AS created",
            tenant_id,
            code,
            name,
            country,
            currencies.pop() if len(currencies) == 1 else None,
        )
        assert supplier is not None  # INSERT ... ON CONFLICT DO UPDATE returns its row either way
        suppliers[code] = supplier["id"]
        if supplier["created"]:
            created.append(code)
    report["created_suppliers"] = sorted(created)  # not those a concurrent import created first
    await _adopt_earlier_keys(conn, tenant_id, list(unique.values()), suppliers, products)
    inserted = 0
    for chunk in _chunks(list(unique.values()), 2_000):
        results = await conn.fetch(
            """
            INSERT INTO app.supplier_deliveries (tenant_id, supplier_id, product_id, category, origin_country,
                shipment_mode, order_date, promised_date, delivered_date, quantity, quantity_received,
                quantity_rejected, value, reference, import_key, currency)
            SELECT $1, x.supplier_id, x.product_id, x.category, x.origin_country, x.shipment_mode, x.order_date,
                   x.promised_date, x.delivered_date, x.quantity, x.quantity_received, x.quantity_rejected,
                   x.value, x.reference, x.import_key, x.currency
            FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::date[], $8::date[],
                        $9::date[], $10::numeric[], $11::numeric[], $12::numeric[], $13::numeric[], $14::text[],
                        $15::text[], $16::text[])
                 AS x(supplier_id, product_id, category, origin_country, shipment_mode, order_date, promised_date,
                      delivered_date, quantity, quantity_received, quantity_rejected, value, reference, import_key,
                      currency)
            ON CONFLICT (tenant_id, import_key) DO UPDATE
                SET delivered_date = EXCLUDED.delivered_date, quantity_received = EXCLUDED.quantity_received,
                    quantity_rejected = EXCLUDED.quantity_rejected, shipment_mode = EXCLUDED.shipment_mode,
                    origin_country = EXCLUDED.origin_country, currency = EXCLUDED.currency
            RETURNING (xmax = 0) AS inserted
            """,
            tenant_id,
            [suppliers[r.supplier] for r in chunk],
            [products.get(r.product) if r.product else None for r in chunk],
            *([getattr(r, attribute) for r in chunk] for attribute in _UNNESTED_ATTRIBUTES),
        )
        inserted += sum(1 for x in results if x["inserted"])
        priced = [r for r in chunk if prices[r.key][0] is not None]
        # A price an earlier import rounded (0.00014 stored as 0.0001, before 2026-12-07) goes with the re-import.
        await conn.execute(
            "DELETE FROM app.supplier_price_history WHERE tenant_id = $1 AND import_key = ANY($2::text[])",
            tenant_id,
            [r.key for r in chunk if prices[r.key][1] is not None],
        )
        await conn.execute(
            """
            INSERT INTO app.supplier_price_history (tenant_id, supplier_id, product_id, observed_on, unit_price,
                currency, import_key)
            SELECT $1, x.supplier_id, x.product_id, x.observed_on, x.unit_price, x.currency, x.import_key
            FROM unnest($2::uuid[], $3::uuid[], $4::date[], $5::numeric[], $6::text[], $7::text[])
                 AS x(supplier_id, product_id, observed_on, unit_price, currency, import_key)
            ON CONFLICT (tenant_id, import_key) DO UPDATE SET currency = EXCLUDED.currency
            """,
            tenant_id,
            [suppliers[r.supplier] for r in priced],
            [products[r.product] for r in priced if r.product is not None],
            [r.order_date for r in priced],
            [prices[r.key][0] for r in priced],
            [r.currency for r in priced],
            [r.key for r in priced],
        )
    report["inserted"] = inserted
    report["updated"] = len(unique) - inserted
    return report


async def _adopt_earlier_keys(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    rows: list[ValidRow],
    suppliers: dict[str, UUID],
    products: dict[str, UUID],
) -> None:
    """A delivery an earlier import stored under another key (its numbers as written, before 2026-12-06; its
    supplier's code before an edit) takes today's key, found by what it says, so it is updated, not inserted again."""
    await conn.execute(
        """WITH x AS (
               SELECT * FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::date[], $6::date[], $7::numeric[],
                                    $8::numeric[], $9::text[], $10::text[])
                   AS x(supplier_id, product_id, category, order_date, promised_date, quantity, value, reference, key)
           ), earlier AS (
               SELECT DISTINCT ON (x.key) d.id, d.import_key AS old, x.key
               FROM x JOIN app.supplier_deliveries d
                 ON d.tenant_id = $1 AND d.supplier_id = x.supplier_id AND d.order_date = x.order_date
                AND d.promised_date = x.promised_date AND d.quantity = x.quantity::numeric(18, 4)
                AND d.value = x.value::numeric(18, 4) AND d.product_id IS NOT DISTINCT FROM x.product_id
                AND d.category IS NOT DISTINCT FROM x.category AND d.reference IS NOT DISTINCT FROM x.reference
               WHERE d.import_key <> x.key
                 AND NOT EXISTS (SELECT FROM app.supplier_deliveries o WHERE o.tenant_id = $1 AND o.import_key = x.key)
               ORDER BY x.key, d.created_at
           ), renamed AS (
               UPDATE app.supplier_deliveries d SET import_key = earlier.key FROM earlier WHERE d.id = earlier.id
               RETURNING earlier.old, earlier.key
           )
           UPDATE app.supplier_price_history p SET import_key = renamed.key FROM renamed
           WHERE p.tenant_id = $1 AND p.import_key = renamed.old""",
        tenant_id,
        [suppliers[r.supplier] for r in rows],
        [products.get(r.product) if r.product else None for r in rows],
        [r.category for r in rows],
        [r.order_date for r in rows],
        [r.promised_date for r in rows],
        [r.quantity for r in rows],
        [r.value for r in rows],
        [r.reference for r in rows],
        [r.key for r in rows],
    )


def _unit_price(row: ValidRow) -> tuple[Decimal | None, str | None]:
    """The row's unit price (value / quantity) as the price history keeps it, or None: with no reason where the row
    is no price (no product, a value of 0), else why it is left out. One the column's four decimals would lose more
    than ``MAX_PRICE_ROUNDING`` of is left out, not rounded, as an order line's is refused: until 2026-12-07
    0.00014 each was stored as 0.0001, and a line at 0.00014 was flagged 40% above the prices before it."""
    if row.product is None or row.value == 0:
        return None, None
    exact = row.value / row.quantity
    kept = kept_unit_price(exact)
    if kept is None:
        why = f"finer than the four decimals a price keeps (more than {MAX_PRICE_ROUNDING:.1%} of it would be lost)"
    elif kept >= LARGEST_PRICE:  # 9999999999.99995 included: rounded, it is past the column too
        why = "past the largest price kept"
    else:
        return kept, None
    price = f"unit price {exact:.6g} {row.currency} (value / quantity)"
    return None, f"{price} is {why}: the delivery is imported, its price is not"


def _chunks(items: list[ValidRow], size: int) -> list[list[ValidRow]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
