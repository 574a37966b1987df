"""Reservations: hold available stock for an order without moving it.

Creating one is a single conditional UPDATE (``available >= quantity``); under READ COMMITTED a
concurrent reservation re-checks the condition against the committed row, so stock is never promised
twice. Releasing returns the hold; fulfilling turns it into an issue on the ledger.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from common.errors import ConflictError, ExpiredValueError, InsufficientStockError
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


async def _close(conn: asyncpg.Connection, reservation_id: UUID, status: ReservationStatus) -> dict:
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
