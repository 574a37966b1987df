"""Shipments as they were made before 2026-12-08, holding no stock: the only ones a delivery can find short."""

from __future__ import annotations

import asyncpg


async def as_made_before_holds(owner_pool: asyncpg.Pool, shipment_id: object) -> None:
    """Release the holds a new shipment's lines placed and unlink them, as the owner (no tenant needed)."""
    async with owner_pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            """UPDATE app.reservations r SET status = 'released', updated_at = now()
               FROM app.shipment_lines l WHERE l.shipment_id = $1 AND l.reservation_id = r.id AND l.hold_placed
               RETURNING r.tenant_id, r.product_id, r.warehouse_id, r.quantity""",
            shipment_id,
        )
        for row in rows:
            await conn.execute(
                """UPDATE app.stock_levels SET reserved = reserved - $4
                   WHERE tenant_id = $1 AND product_id = $2 AND warehouse_id = $3""",
                *row,
            )
        await conn.execute(
            "UPDATE app.shipment_lines SET reservation_id = NULL, hold_placed = false WHERE shipment_id = $1",
            shipment_id,
        )
