"""Reservations: hold available stock for an order without moving it.

Creating one is a single conditional UPDATE (``available >= quantity``); under READ COMMITTED a
concurrent reservation re-checks the condition against the committed row, so stock is never promised
twice. Releasing returns the hold; fulfilling turns it into an issue on the ledger. A hold an outbound shipment
ships (``inventory.shipment_holds``) is the shipment's until it is delivered (which takes it) or cancelled: it is
neither released nor fulfilled meanwhile, and it never expires.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import asyncpg

from common.errors import ConflictError, ExpiredValueError, InsufficientStockError, InvalidInputError, NotFoundError
from inventory.listing import KnownValues, Listing, ListQuery, Page
from inventory.records import one_row, row_or_missing
from inventory.schemas import ReservationCreate, ReservationStatus
from inventory.stock import LedgerEntry, get_level, insert_movement, release_expired

RESERVATION_COLUMNS = (
    "id, product_id, warehouse_id, quantity, status, reference, expires_at, created_by, created_at, updated_at"
)

# Reads: a hold past its expiry reads as "expired" before the release job records it (migration 0118).
RESERVATIONS = Listing(
    table="app.reservation_details",
    columns=tuple(c.strip() for c in RESERVATION_COLUMNS.split(",")),
    sortable={"created_at": datetime},
    default_sort="-created_at",
    equality_filters={"product_id": "uuid", "warehouse_id": "uuid", "status": "text"},
    known_values={"status": KnownValues.of(ReservationStatus)},
)


async def create_reservation(
    conn: asyncpg.Connection, tenant_id: UUID, user_id: UUID, request: ReservationCreate
) -> dict:
    if request.expires_at is not None and request.expires_at <= datetime.now(UTC):
        # A hold that has already expired would block stock it can never be used for.
        raise ExpiredValueError(f"expires_at must be in the future; {request.expires_at.isoformat()} has passed")
    # Expired holds on this level give their stock back first, so they cannot block the new one.
    await release_expired(conn, request.product_id, request.warehouse_id)
    held = await conn.fetchval(
        """UPDATE app.stock_levels SET reserved = reserved + $3, updated_at = now()
           WHERE product_id = $1 AND warehouse_id = $2 AND available >= $3
           RETURNING reserved""",
        request.product_id,
        request.warehouse_id,
        request.quantity,
    )
    if held is None:
        level = await get_level(conn, request.product_id, request.warehouse_id)
        raise InsufficientStockError(
            f"only {level['available']:f} of product {request.product_id} available in warehouse "
            f"{request.warehouse_id}; cannot reserve {request.quantity:f}",
            details={"available": float(level["available"]), "requested": float(request.quantity)},
        )
    return await one_row(
        conn,
        f"""INSERT INTO app.reservations
                (tenant_id, product_id, warehouse_id, quantity, reference, expires_at, created_by)
            VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {RESERVATION_COLUMNS}""",
        tenant_id,
        request.product_id,
        request.warehouse_id,
        request.quantity,
        request.reference,
        request.expires_at,
        user_id,
    )


async def get_reservation(conn: asyncpg.Connection, reservation_id: UUID) -> dict:
    sql = f"SELECT {RESERVATION_COLUMNS} FROM app.reservation_details WHERE id = $1"
    return await row_or_missing(conn, sql, reservation_id, what="reservation")


async def release_reservation(conn: asyncpg.Connection, reservation_id: UUID) -> dict:
    reservation = await _close(conn, reservation_id, ReservationStatus.RELEASED)
    await _return_hold(conn, reservation)
    return reservation


async def fulfil_reservation(conn: asyncpg.Connection, tenant_id: UUID, user_id: UUID, reservation_id: UUID) -> dict:
    reservation = await _close(conn, reservation_id, ReservationStatus.FULFILLED)
    # Release the hold first: the issue below must not count against the stock it was holding.
    await _return_hold(conn, reservation)
    entry = LedgerEntry(
        product_id=reservation["product_id"], warehouse_id=reservation["warehouse_id"], movement_type="issue",
        quantity=-reservation["quantity"], reservation_id=reservation_id, reference=reservation["reference"],
        created_by=user_id,
    )  # fmt: skip
    await insert_movement(conn, tenant_id, entry)
    return reservation


async def list_reservations(conn: asyncpg.Connection, query: ListQuery) -> Page:
    sql, params = RESERVATIONS.build(query)
    return RESERVATIONS.page(await conn.fetch(sql, *params), query)


async def claim_for_shipment(
    conn: asyncpg.Connection, reservation_id: UUID, product_id: UUID, warehouse_id: UUID, quantity: Decimal
) -> None:
    """Let an outbound shipment line ship ``quantity`` of this hold: an active hold of that product and warehouse with
    that much not already on another shipment under way. It stops expiring: the goods are promised to the carrier."""
    hold = await conn.fetchrow(
        """SELECT product_id, warehouse_id, quantity,
                  CASE WHEN status = 'active' AND expires_at <= now() THEN 'expired' ELSE status END AS status
           FROM app.reservations WHERE id = $1 FOR UPDATE""",
        reservation_id,
    )
    if hold is None:
        raise NotFoundError(f"reservation {reservation_id} not found", code="unknown_reservation")
    if hold["status"] != ReservationStatus.ACTIVE:
        raise ConflictError(
            f"reservation {reservation_id} is {hold['status']}; a shipment ships an active hold", code="invalid_state"
        )
    if (hold["product_id"], hold["warehouse_id"]) != (product_id, warehouse_id):
        raise InvalidInputError(
            f"reservation {reservation_id} holds product {hold['product_id']} in warehouse {hold['warehouse_id']}, "
            f"not the line's product {product_id} in the shipment's warehouse {warehouse_id}",
            code="reservation_mismatch",
        )
    shipping: Decimal = await conn.fetchval(f"SELECT coalesce(sum(l.quantity), 0) {_ON_OPEN_SHIPMENTS}", reservation_id)
    if shipping + quantity > hold["quantity"]:
        raise ConflictError(
            f"reservation {reservation_id} holds {hold['quantity']:f}, {shipping:f} of it already on shipments under "
            f"way; a line cannot ship {quantity:f} of it",
            code="reservation_too_small",
            details={"held": float(hold["quantity"]), "shipping": float(shipping), "requested": float(quantity)},
        )
    await conn.execute(
        "UPDATE app.reservations SET expires_at = NULL, updated_at = now() WHERE id = $1", reservation_id
    )


async def take_for_shipment(
    conn: asyncpg.Connection, tenant_id: UUID, user_id: UUID, reservation_id: UUID, entry: LedgerEntry
) -> dict:
    """Issue a delivered shipment line from the hold it ships (``entry``: the issue, its quantity negative): the
    hold gives up that quantity (fulfilled once none is left) and the ledger row names it. Returns the row."""
    taken = -entry.quantity
    closed = await conn.fetchrow(
        """UPDATE app.reservations SET quantity = CASE WHEN quantity = $2 THEN quantity ELSE quantity - $2 END,
                  status = CASE WHEN quantity = $2 THEN 'fulfilled' ELSE status END, updated_at = now()
           WHERE id = $1 AND status = 'active' AND quantity >= $2
           RETURNING product_id, warehouse_id""",
        reservation_id,
        taken,
    )
    if closed is None:  # claim_for_shipment and the guard in _close keep the hold: not reached
        raise ConflictError(f"reservation {reservation_id} no longer holds {taken:f}", code="invalid_state")
    await _return_hold(conn, {**dict(closed), "quantity": taken})
    return await insert_movement(conn, tenant_id, replace(entry, reservation_id=reservation_id, created_by=user_id))


# The lines of shipments under way (not cancelled, not yet issued) that ship a hold ($1).
_ON_OPEN_SHIPMENTS = """FROM app.shipment_lines l JOIN app.shipments s ON s.id = l.shipment_id
    WHERE l.reservation_id = $1 AND l.movement_id IS NULL AND s.status <> 'cancelled'"""


async def _close(conn: asyncpg.Connection, reservation_id: UUID, status: ReservationStatus) -> dict:
    # The hold first (a shipment claiming it waits, or is seen once committed), then the shipments that ship it.
    await conn.execute("SELECT 1 FROM app.reservations WHERE id = $1 FOR UPDATE", reservation_id)
    shipment = await conn.fetchval(f"SELECT s.number {_ON_OPEN_SHIPMENTS} LIMIT 1", reservation_id)
    if shipment is not None:
        raise ConflictError(
            f"reservation {reservation_id} is shipped by shipment {shipment}: its delivery takes the hold, and "
            "cancelling the shipment gives it back",
            code="reservation_on_shipment",
        )
    row = await conn.fetchrow(
        f"""UPDATE app.reservations SET status = $2, updated_at = now()
            WHERE id = $1 AND status = 'active' AND (expires_at IS NULL OR expires_at > now())
            RETURNING {RESERVATION_COLUMNS}""",
        reservation_id,
        status.value,
    )
    if row is None:
        current = await get_reservation(conn, reservation_id)
        if current["status"] == ReservationStatus.EXPIRED:  # released by the job or not yet: the hold is gone
            raise ConflictError(
                f"reservation {reservation_id} expired at {current['expires_at']:%Y-%m-%d %H:%M:%S %Z}; "
                f"it can no longer be {status.value}",
                code="reservation_expired",
            )
        raise ConflictError(
            f"reservation {reservation_id} is {current['status']}; only an active reservation can be {status.value}",
            code="invalid_state",
        )
    return dict(row)


async def _return_hold(conn: asyncpg.Connection, reservation: dict) -> None:
    await conn.execute(
        """UPDATE app.stock_levels SET reserved = reserved - $3, updated_at = now()
           WHERE product_id = $1 AND warehouse_id = $2""",
        reservation["product_id"],
        reservation["warehouse_id"],
        reservation["quantity"],
    )
