"""Units of measure: how many of a product's own unit one unit ordered in holds.

Resolution order, as in ERPNext: the product's own unit (factor 1); a conversion recorded for that
product (a box of 50); otherwise two shared units of the same category (dozen -> each, g -> kg, like
Odoo's UoM categories). Anything else is refused: a unit is never guessed.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

import asyncpg

from common.errors import InvalidInputError, NotFoundError
from inventory.records import one_row

FACTOR_QUANTUM = Decimal("1e-12")  # purchase_order_lines.uom_factor is numeric(24, 12)


async def conversion_factor(conn: asyncpg.Connection, product_id: UUID, uom: str | None) -> tuple[str, Decimal, str]:
    """Returns (unit, product units per unit, the product's unit); 404 for an unknown product."""
    row = await conn.fetchrow(
        """SELECT p.unit_of_measure,
                  c.factor AS product_factor,
                  mine.ratio AS uom_ratio, mine.category AS uom_category,
                  base.ratio AS base_ratio, base.category AS base_category
           FROM app.products p
           LEFT JOIN app.product_uom_conversions c ON c.product_id = p.id AND c.uom = $2
           LEFT JOIN app.units_of_measure mine ON mine.code = $2
           LEFT JOIN app.units_of_measure base ON base.code = p.unit_of_measure
           WHERE p.id = $1
           -- Held until the line that reads the unit is written: a unit change (its trigger takes the row FOR
           -- UPDATE) waits for it and is then refused, rather than committing between the read and the insert.
           FOR KEY SHARE OF p""",
        product_id,
        uom,
    )
    if row is None:
        raise NotFoundError(f"product {product_id} not found", code="unknown_product")
    base: str = row["unit_of_measure"]
    if uom is None or uom == base:
        return base, Decimal(1), base
    if row["product_factor"] is not None:
        return uom, row["product_factor"], base
    if row["uom_ratio"] is None:
        raise InvalidInputError(
            f"unknown unit of measure {uom!r} for product {product_id}: use its unit {base!r}, a shared unit of "
            "the same category, or record a conversion for the product first",
            code="unknown_uom",
            details={"uom": uom, "product_uom": base},
        )
    if row["base_ratio"] is None or row["uom_category"] != row["base_category"]:
        raise InvalidInputError(
            f"cannot convert {uom!r} to the product's unit {base!r}: they measure different things",
            code="incompatible_uom",
            details={"uom": uom, "product_uom": base},
        )
    # At the precision the lines store it (numeric(24, 12)), so a line's converted quantity and its receipts' agree.
    return uom, (row["uom_ratio"] / row["base_ratio"]).quantize(FACTOR_QUANTUM, rounding=ROUND_HALF_UP), base


async def list_units(conn: asyncpg.Connection) -> list[dict]:
    rows = await conn.fetch("SELECT code, category, ratio, name FROM app.units_of_measure ORDER BY category, ratio")
    return [dict(r) for r in rows]


async def set_conversion(
    conn: asyncpg.Connection, tenant_id: UUID, product_id: UUID, uom: str, factor: Decimal
) -> dict:
    base = await conn.fetchval("SELECT unit_of_measure FROM app.products WHERE id = $1 FOR KEY SHARE", product_id)
    if base is None:
        raise NotFoundError(f"product {product_id} not found", code="unknown_product")
    if uom == base:
        raise InvalidInputError(f"{uom!r} is the product's own unit: its factor is always 1", code="invalid_uom")
    return await one_row(
        conn,
        """INSERT INTO app.product_uom_conversions (tenant_id, product_id, uom, factor) VALUES ($1, $2, $3, $4)
           ON CONFLICT (tenant_id, product_id, uom) DO UPDATE SET factor = EXCLUDED.factor, updated_at = now()
           RETURNING product_id, uom, factor, updated_at""",
        tenant_id,
        product_id,
        uom,
        factor,
    )


async def list_conversions(conn: asyncpg.Connection, product_id: UUID) -> list[dict]:
    # Another tenant's product is invisible here: the same 404 as a missing one, not an empty list.
    if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM app.products WHERE id = $1)", product_id):
        raise NotFoundError(f"product {product_id} not found", code="unknown_product")
    rows = await conn.fetch(
        "SELECT product_id, uom, factor, updated_at FROM app.product_uom_conversions "
        "WHERE product_id = $1 ORDER BY uom",
        product_id,
    )
    return [dict(r) for r in rows]


async def delete_conversion(conn: asyncpg.Connection, product_id: UUID, uom: str) -> None:
    """Forget one of a product's packaging units (order lines keep the factor they were written with)."""
    deleted = await conn.fetchval(
        "DELETE FROM app.product_uom_conversions WHERE product_id = $1 AND uom = $2 RETURNING uom", product_id, uom
    )
    if deleted is None:
        raise NotFoundError(f"product {product_id} has no packaging unit {uom!r}", code="unknown_uom_conversion")
