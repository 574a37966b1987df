"""Inventory position at one location: on hand, reserved and on order, with one definition of "on order".

On order is what open purchase orders still bring to the warehouse: ordered minus received minus cancelled,
never below zero per line, drafts included (Odoo counts RFQs "in progress" the same way), so a reorder
proposal and a stock policy computed a moment later see the same incoming quantity and nothing is ordered twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from common.errors import NotFoundError


@dataclass(frozen=True)
class LocationPosition:
    unit_cost: float | None
    unit_cost_currency: str | None
    on_hand: float
    reserved: float
    on_order: float

    @property
    def inventory_position(self) -> float:
        return self.on_hand + self.on_order - self.reserved


async def require_location(
    conn: asyncpg.Connection, product_id: UUID, warehouse_id: UUID
) -> tuple[float | None, str | None]:
    """404 unless both exist (and are visible to the caller); returns the product's unit cost and its currency."""
    product = await conn.fetchrow("SELECT unit_cost, unit_cost_currency FROM app.products WHERE id = $1", product_id)
    if product is None:
        raise NotFoundError(f"no product {product_id}", code="unknown_product")
    if await conn.fetchval("SELECT 1 FROM app.warehouses WHERE id = $1", warehouse_id) is None:
        raise NotFoundError(f"no warehouse {warehouse_id}", code="unknown_warehouse")
    cost = float(product["unit_cost"]) if product["unit_cost"] is not None else None
    return cost, product["unit_cost_currency"]


async def location_position(conn: asyncpg.Connection, product_id: UUID, warehouse_id: UUID) -> LocationPosition:
    unit_cost, currency = await require_location(conn, product_id, warehouse_id)
    row = await conn.fetchrow(
        # app.incoming_quantity: open purchase orders' remaining quantity, drafts that can still be issued included
        # (migrations 0117, 0149), the one definition the reorder proposals and the low-stock notification share.
        """SELECT coalesce(lv.on_hand, 0) AS on_hand, coalesce(lv.reserved, 0) AS reserved,
                  app.incoming_quantity((SELECT tenant_id FROM app.products WHERE id = $1), $1, $2) AS on_order
            FROM (SELECT 1) AS one
            LEFT JOIN app.stock_level_details lv ON lv.product_id = $1 AND lv.warehouse_id = $2""",
        product_id,
        warehouse_id,
    )
    assert row is not None  # the select has no FROM filter: one row always
    on_hand, reserved, on_order = float(row["on_hand"]), float(row["reserved"]), float(row["on_order"])
    return LocationPosition(unit_cost, currency, on_hand, reserved, on_order)
