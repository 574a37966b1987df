"""Stock movements (the ledger) and stock levels.

``on_hand`` is maintained by a trigger on the ledger and guarded by CHECK constraints, so the database
itself refuses a movement that would take stock below zero or below what is reserved. This module turns
those refusals into domain errors with the figures a planner needs.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from common.errors import InsufficientStockError, InvalidInputError, NotFoundError
from inventory.listing import Listing, ListQuery, Page
from inventory.records import unknown_reference
from inventory.schemas import (
    AdjustmentCreate,
    IssueCreate,
    MovementCreate,
    ReceiptCreate,
    TransferCreate,
)

MOVEMENT_COLUMNS = (
    "id, product_id, warehouse_id, movement_type, quantity, transfer_id, reservation_id, reference, "
    "reason, created_by, occurred_at, created_at"
)
LEVEL_COLUMNS = (
    "product_id, sku, product_name, unit_of_measure, warehouse_id, warehouse_code, on_hand, reserved, available, "
    "updated_at"
)

# A bulk load's columns (``copy_movements``), in the order of its records.
MOVEMENT_LOAD_COLUMNS = (
    "tenant_id", "product_id", "warehouse_id", "movement_type", "quantity", "reference", "occurred_at",
)  # fmt: skip


async def copy_movements(conn: asyncpg.Connection, records: list[tuple[Any, ...]], *, created_at: bool = False) -> None:
    """Bulk-load movement history with COPY (demo data, benchmarks): each record holds ``MOVEMENT_LOAD_COLUMNS``,
    then ``created_at`` when ``created_at`` is set (otherwise the load time)."""
    columns = [*MOVEMENT_LOAD_COLUMNS, "created_at"] if created_at else list(MOVEMENT_LOAD_COLUMNS)
    await conn.copy_records_to_table("stock_movements", schema_name="app", columns=columns, records=records)


MOVEMENTS = Listing(
    table="app.stock_movements",
    columns=tuple(c.strip() for c in MOVEMENT_COLUMNS.split(",")),
    sortable={"created_at": datetime, "occurred_at": datetime},
    default_sort="-created_at",
    equality_filters={
        "product_id": "uuid",
        "warehouse_id": "uuid",
        "movement_type": "text",
        "transfer_id": "uuid",
        "reservation_id": "uuid",
    },
    range_filters={"occurred_from": ("occurred_at", ">="), "occurred_to": ("occurred_at", "<")},
)

LEVELS = Listing(
    table="app.stock_level_details",
    columns=("id", *(c.strip() for c in LEVEL_COLUMNS.split(","))),
    sortable={"updated_at": datetime, "available": Decimal, "on_hand": Decimal},
    default_sort="updated_at",
    equality_filters={"product_id": "uuid", "warehouse_id": "uuid", "sku": "text", "warehouse_code": "text"},
    range_filters={"available_below": ("available", "<")},
)


async def record_movement(
    conn: asyncpg.Connection, tenant_id: UUID, user_id: UUID, movement: MovementCreate
) -> tuple[list[dict], list[dict]]:
    """Write one movement (two for a transfer); returns the ledger rows and the resulting levels."""
    legs = _legs(movement)
    # A fixed lock order (by warehouse) keeps two opposite transfers from deadlocking.
    legs.sort(key=lambda leg: str(leg[0]))
    transfer_id = uuid4() if isinstance(movement, TransferCreate) else None
    reason = movement.reason if isinstance(movement, AdjustmentCreate) else None
    rows: list[dict] = []
    for warehouse_id, movement_type, quantity in legs:
        if quantity < 0:
            await _lock_available(conn, movement.product_id, warehouse_id, -quantity)
        try:
            row = await conn.fetchrow(
                f"""INSERT INTO app.stock_movements
                        (tenant_id, product_id, warehouse_id, movement_type, quantity, transfer_id,
                         reference, reason, created_by, occurred_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($10, now()))
                    RETURNING {MOVEMENT_COLUMNS}""",
                tenant_id,
                movement.product_id,
                warehouse_id,
                movement_type,
                quantity,
                transfer_id,
                movement.reference,
                reason,
                user_id,
                movement.occurred_at,
            )
        except asyncpg.CheckViolationError as exc:
            # Backstop only: _lock_available has already checked under a row lock.
            raise InsufficientStockError(
                f"not enough available stock of product {movement.product_id} in warehouse {warehouse_id}"
            ) from exc
        except asyncpg.ForeignKeyViolationError as exc:
            raise unknown_reference(exc, {"product": movement.product_id, "warehouse": warehouse_id}) from exc
        except asyncpg.NumericValueOutOfRangeError as exc:  # the level's numeric(18, 4), updated by the ledger trigger
            raise InvalidInputError(
                f"adding {quantity:f} would take the stock of product {movement.product_id} in warehouse "
                f"{warehouse_id} past the largest quantity kept (10^14)",
                code="too_large",
            ) from exc
        assert row is not None
        rows.append(dict(row))
    rows.sort(key=lambda r: r["quantity"])  # the outgoing leg of a transfer first
    levels = [await get_level(conn, movement.product_id, warehouse_id) for warehouse_id, _, _ in legs]
    return rows, levels


def _legs(movement: MovementCreate) -> list[tuple[UUID, str, Decimal]]:
    if isinstance(movement, ReceiptCreate):
        return [(movement.warehouse_id, "receipt", movement.quantity)]
    if isinstance(movement, IssueCreate):
        return [(movement.warehouse_id, "issue", -movement.quantity)]
    if isinstance(movement, TransferCreate):
        return [
            (movement.from_warehouse_id, "transfer_out", -movement.quantity),
            (movement.to_warehouse_id, "transfer_in", movement.quantity),
        ]
    return [(movement.warehouse_id, "adjustment", movement.quantity)]


async def get_level(conn: asyncpg.Connection, product_id: UUID, warehouse_id: UUID) -> dict:
    row = await conn.fetchrow(
        f"SELECT {LEVEL_COLUMNS} FROM app.stock_level_details WHERE product_id = $1 AND warehouse_id = $2",
        product_id,
        warehouse_id,
    )
    if row is not None:
        return dict(row)
    # No movement yet: zero stock for a known product and warehouse, 404 otherwise.
    product = await conn.fetchrow(
        "SELECT sku, name AS product_name, unit_of_measure FROM app.products WHERE id = $1", product_id
    )
    if product is None:
        raise NotFoundError(f"product {product_id} not found", code="unknown_product")
    warehouse_code = await conn.fetchval("SELECT code FROM app.warehouses WHERE id = $1", warehouse_id)
    if warehouse_code is None:
        raise NotFoundError(f"warehouse {warehouse_id} not found", code="unknown_warehouse")
    zero = Decimal(0)
    return {
        **dict(product),
        "product_id": product_id,
        "warehouse_id": warehouse_id,
        "warehouse_code": warehouse_code,
        "on_hand": zero,
        "reserved": zero,
        "available": zero,
        "updated_at": await conn.fetchval("SELECT now()"),
    }


async def list_levels(conn: asyncpg.Connection, query: ListQuery) -> Page:
    sql, params = LEVELS.build(query)
    rows = await conn.fetch(sql, *params)
    page = LEVELS.page(rows, query)
    for item in page.items:
        item.pop("id", None)
    return page


async def list_movements(conn: asyncpg.Connection, query: ListQuery) -> Page:
    sql, params = MOVEMENTS.build(query)
    return MOVEMENTS.page(await conn.fetch(sql, *params), query)


async def _lock_available(conn: asyncpg.Connection, product_id: UUID, warehouse_id: UUID, requested: Decimal) -> None:
    """Lock the stock level row and refuse to take more than is available (on hand minus reserved)."""
    row = await conn.fetchrow(
        "SELECT on_hand, reserved, available FROM app.stock_levels "
        "WHERE product_id = $1 AND warehouse_id = $2 FOR UPDATE",
        product_id,
        warehouse_id,
    )
    level = dict(row) if row is not None else await get_level(conn, product_id, warehouse_id)
    if level["available"] < requested:
        raise InsufficientStockError(
            f"only {level['available']:f} of product {product_id} available in warehouse {warehouse_id} "
            f"({level['on_hand']:f} on hand, {level['reserved']:f} reserved); cannot remove {requested:f}",
            details={
                "product_id": str(product_id),
                "warehouse_id": str(warehouse_id),
                "on_hand": float(level["on_hand"]),
                "reserved": float(level["reserved"]),
                "available": float(level["available"]),
                "requested": float(requested),
            },
        )
