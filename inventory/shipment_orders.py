"""What ties an inbound shipment to the purchase order it brings.

A shipment brings an order the supplier was sent and has not delivered in full (issued or partly received), to the
order's own warehouse, and carries only the order's products; and an order is not cancelled while a shipment brings
it (cancel the shipment first: ``POST /shipments/{id}/cancel``, refused once it is delivered, since the goods are
then here to receive). Until 2026-12-08 a shipment could name a cancelled or draft order, another warehouse and any
product, and an order was cancelled under a shipment still bringing it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import asyncpg

from common.errors import ConflictError, InvalidInputError, NotFoundError

SHIPPABLE_ORDER = ("issued", "partially_received")


async def check_inbound_order(
    conn: asyncpg.Connection, order_id: UUID, warehouse_id: UUID, product_ids: Sequence[UUID]
) -> None:
    """Refuse an inbound shipment of order ``order_id`` to ``warehouse_id`` carrying ``product_ids`` unless the order
    can be shipped (409 ``invalid_state``), goes there (400 ``warehouse_mismatch``) and orders them all (400
    ``product_not_on_order``). The order is share-locked: a cancel waits for the shipment, then sees it."""
    order = await conn.fetchrow(
        """SELECT po.number, po.status, po.warehouse_id, w.code AS warehouse_code FROM app.purchase_orders po
           JOIN app.warehouses w ON w.id = po.warehouse_id WHERE po.id = $1 FOR SHARE OF po""",
        order_id,
    )
    if order is None:
        raise NotFoundError(f"purchase order {order_id} not found", code="unknown_purchase_order")
    if order["status"] not in SHIPPABLE_ORDER:
        raise ConflictError(
            f"purchase order {order['number']} is {order['status']}: a shipment brings an order that is issued or "
            "partially received",
            code="invalid_state",
            details={"status": order["status"], "allowed_from": list(SHIPPABLE_ORDER)},
        )
    if order["warehouse_id"] != warehouse_id:
        raise InvalidInputError(
            f"purchase order {order['number']} is delivered to warehouse {order['warehouse_code']}, not to warehouse "
            f"{warehouse_id}: its shipment goes there",
            code="warehouse_mismatch",
        )
    stray = await conn.fetch(
        """SELECT p.id, p.sku FROM unnest($2::uuid[]) AS given (product_id)
           LEFT JOIN app.products p ON p.id = given.product_id
           WHERE NOT EXISTS (SELECT 1 FROM app.purchase_order_lines l
                             WHERE l.purchase_order_id = $1 AND l.product_id = given.product_id)
           ORDER BY p.sku""",
        order_id,
        list(dict.fromkeys(product_ids)),
    )
    if stray:
        names = ", ".join(row["sku"] or "an unknown product" for row in stray)
        raise InvalidInputError(
            f"purchase order {order['number']} does not order {names}: an inbound shipment carries the order's "
            "products",
            code="product_not_on_order",
        )


async def refuse_cancel_while_shipped(conn: asyncpg.Connection, order: Mapping[str, Any]) -> None:
    """409 ``shipment_under_way`` for a locked order (``id``, ``number``) that a shipment not cancelled brings."""
    shipment = await conn.fetchrow(
        """SELECT number, status FROM app.shipments WHERE purchase_order_id = $1 AND status <> 'cancelled'
           ORDER BY created_at LIMIT 1""",
        order["id"],
    )
    if shipment is not None:
        then = "its goods have arrived: receive them" if shipment["status"] == "delivered" else "cancel it first"
        raise ConflictError(
            f"purchase order {order['number']} is brought by shipment {shipment['number']} ({shipment['status']}): "
            + then,
            code="shipment_under_way",
        )
