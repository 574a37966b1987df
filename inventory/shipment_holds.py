"""The stock an outbound shipment ships is held from its creation until its delivery takes it (Odoo's delivery order
reserves at confirmation; validating it consumes the reservation).

Each line holds its quantity: a hold the shipment places (``hold_placed``; refused ``insufficient_stock`` as any
reservation is when less is available) or an order's own hold the line names (``reservation_id``, of the same product
and warehouse, holding at least the line's quantity beside what other shipments under way ship of it). Holds are
taken product by product, each level's expired holds released before the level, the order of every stock write
(``inventory.stock.lock_levels``). None of them expires: a hold placed here has no expiry, and a hold given loses its
own (the goods are promised to the carrier). While the shipment is under way its holds are neither released nor
fulfilled by hand (``reservation_on_shipment``). Cancelling it releases the holds it placed; a hold it was given goes
back to its order, still held (and still without an expiry). Until 2026-12-08 a shipment held nothing: goods with
the carrier still read as available, and a shipment of stock held for an order issued it twice.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from uuid import UUID

import asyncpg

from common.errors import ConflictError, NotFoundError
from inventory import reservations
from inventory.schemas import ReservationCreate
from inventory.shipment_schemas import ShipmentLineCreate


async def hold_lines(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    user_id: UUID,
    shipment: dict,
    lines: list[ShipmentLineCreate],
) -> list[tuple[UUID, bool]]:
    """Hold every line of a new outbound shipment (``shipment``: its number and warehouse); returns, in the lines'
    order, the hold each ships and whether the shipment placed it."""
    held: list[tuple[UUID, bool] | None] = [None] * len(lines)
    given: defaultdict[UUID, Decimal] = defaultdict(Decimal)  # what earlier lines of this request ship of a hold
    for index in sorted(range(len(lines)), key=lambda i: lines[i].product_id):
        line = lines[index]
        if line.reservation_id is not None:
            await reservations.claim_for_shipment(
                conn,
                line.reservation_id,
                line.product_id,
                shipment["warehouse_id"],
                line.quantity + given[line.reservation_id],
            )
            given[line.reservation_id] += line.quantity
            held[index] = (line.reservation_id, False)
            continue
        request = ReservationCreate(
            product_id=line.product_id,
            warehouse_id=shipment["warehouse_id"],
            quantity=line.quantity,
            reference=f"shipment {shipment['number']}",
        )
        placed = await reservations.create_reservation(conn, tenant_id, user_id, request)
        held[index] = (placed["id"], True)
    return [h for h in held if h is not None]


async def cancel_shipment(conn: asyncpg.Connection, shipment_id: UUID) -> None:
    """Cancel a shipment the carrier has not picked up yet (``created``) and release the holds it placed (product by
    product)."""
    shipment = await conn.fetchrow("SELECT number, status FROM app.shipments WHERE id = $1 FOR UPDATE", shipment_id)
    if shipment is None:
        raise NotFoundError(f"shipment {shipment_id} not found")
    if shipment["status"] == "delivered":
        raise ConflictError(
            f"shipment {shipment['number']} is delivered: it can no longer be cancelled", code="shipment_delivered"
        )
    if shipment["status"] == "cancelled":
        raise ConflictError(f"shipment {shipment['number']} is already cancelled", code="invalid_state")
    if shipment["status"] != "created":
        # The carrier has the goods: releasing their holds would let them be sold again.
        raise ConflictError(
            f"shipment {shipment['number']} is {shipment['status'].replace('_', ' ')}: the carrier has the goods, so "
            "it can no longer be cancelled; they leave through its delivery (or an adjustment if they are lost)",
            code="shipment_under_way",
        )
    await conn.execute("UPDATE app.shipments SET status = 'cancelled', updated_at = now() WHERE id = $1", shipment_id)
    placed = await conn.fetch(
        """SELECT reservation_id FROM app.shipment_lines
           WHERE shipment_id = $1 AND hold_placed AND movement_id IS NULL ORDER BY product_id, id""",
        shipment_id,
    )
    for line in placed:
        await reservations.release_reservation(conn, line["reservation_id"])
