"""Stock movements (the ledger) and stock levels.

``on_hand`` is maintained by a trigger on the ledger and guarded by CHECK constraints, so the database
itself refuses a movement that would take stock below zero or below what is reserved. This module turns
those refusals into domain errors with the figures a planner needs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from common.errors import InsufficientStockError, InvalidInputError, NotFoundError
from inventory.listing import KnownValues, Listing, ListQuery, Page, RangeFilter
from inventory.records import refuse_inactive, unknown_reference
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
    # As the ledger stores them (a transfer is a transfer_out and a transfer_in), per its CHECK (migration 0001).
    known_values={"movement_type": KnownValues(("receipt", "issue", "transfer_out", "transfer_in", "adjustment"))},
    range_filters={
        "occurred_from": RangeFilter("occurred_at", ">=", datetime),
        "occurred_to": RangeFilter("occurred_at", "<", datetime),
    },
)

# By SKU unless asked otherwise: every movement and reservation moves a level's updated_at, available and on_hand,
# so a walk over pages sorted by them meets a level moved behind its cursor again, or misses one moved ahead.
LEVELS = Listing(
    table="app.stock_level_details",
    columns=("id", *(c.strip() for c in LEVEL_COLUMNS.split(","))),
    sortable={"sku": str, "warehouse_code": str, "updated_at": datetime, "available": Decimal, "on_hand": Decimal},
    default_sort="sku",
    equality_filters={"product_id": "uuid", "warehouse_id": "uuid", "sku": "text", "warehouse_code": "text"},
    range_filters={"available_below": RangeFilter("available", "<", Decimal)},
)


@dataclass(frozen=True)
class LedgerEntry:
    """One row of the ledger, as every writer of stock (movements, receipts, fulfilments, ERP syncs) gives it."""

    product_id: UUID
    warehouse_id: UUID
    movement_type: str
    quantity: Decimal
    reference: str | None = None
    reason: str | None = None
    created_by: UUID | None = None
    occurred_at: datetime | None = None
    lot_id: UUID | None = None
    transfer_id: UUID | None = None
    reservation_id: UUID | None = None
    # How a refusal names the level (say "SKU-0 in warehouse WH-1"); the ids when not given.
    label: str | None = None
    # Refuse the row when the warehouse is deactivated (new stock into a closed warehouse), in the same statement.
    active_warehouse_only: bool = False
    # Refuse the row when it names no lot and the product is lot-tracked, in the same statement.
    lot_or_untracked: bool = False

    def level_name(self) -> str:
        return self.label or f"product {self.product_id} in warehouse {self.warehouse_id}"


async def insert_movement(conn: asyncpg.Connection, tenant_id: UUID, entry: LedgerEntry) -> dict:
    """Write one ledger row (the trigger moves the level). The database's refusals become domain errors: stock
    below zero or below what is reserved, an unknown product or warehouse, a level past what its column keeps."""
    try:
        row = await conn.fetchrow(
            f"""INSERT INTO app.stock_movements
                    (tenant_id, product_id, warehouse_id, movement_type, quantity, transfer_id, reservation_id,
                     reference, reason, created_by, occurred_at, lot_id)
                SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, coalesce($11, now()), $12
                WHERE (NOT $13::boolean OR coalesce((SELECT w.active FROM app.warehouses w WHERE w.id = $3), true))
                  AND NOT ($14::boolean AND $12::uuid IS NULL
                           AND coalesce((SELECT p.lot_tracked FROM app.products p WHERE p.id = $2), false))
                RETURNING {MOVEMENT_COLUMNS}""",
            tenant_id,
            entry.product_id,
            entry.warehouse_id,
            entry.movement_type,
            entry.quantity,
            entry.transfer_id,
            entry.reservation_id,
            entry.reference,
            entry.reason,
            entry.created_by,
            entry.occurred_at,
            entry.lot_id,
            entry.active_warehouse_only,
            entry.lot_or_untracked,
        )
    except asyncpg.CheckViolationError as exc:
        raise InsufficientStockError(f"not enough available stock of {entry.level_name()}") from exc
    except asyncpg.ForeignKeyViolationError as exc:
        raise unknown_reference(exc, {"product": entry.product_id, "warehouse": entry.warehouse_id}) from exc
    except asyncpg.NumericValueOutOfRangeError as exc:  # the movement's or the level's numeric(18, 4)
        raise InvalidInputError(
            f"{entry.movement_type} of {entry.quantity:f} would take the stock of {entry.level_name()} past the "
            "largest quantity kept (10^14)",
            code="too_large",
        ) from exc
    if row is None:  # an inactive warehouse, or a lot-tracked product without a lot, held the row back
        await refuse_inactive(conn, "warehouse", entry.warehouse_id)
        # The lot condition also holds back a row whose warehouse the foreign key would refuse: a lot cannot help.
        visible = await conn.fetchval("SELECT EXISTS (SELECT 1 FROM app.warehouses WHERE id = $1)", entry.warehouse_id)
        if not visible:
            raise NotFoundError(f"warehouse {entry.warehouse_id} not found", code="unknown_warehouse")
        raise InvalidInputError(
            "the product is lot-tracked: receive it with its lot through POST /purchase-orders/{id}/receipts",
            code="lot_required",
        )
    return dict(row)


async def lock_levels(conn: asyncpg.Connection, tenant_id: UUID, levels: Iterable[tuple[UUID, UUID]]) -> None:
    """Lock the stock levels of these (product, warehouse) pairs, made at zero where missing, in the one order every
    write of several levels takes them: by product, then warehouse (as uuids compare, in Python and PostgreSQL).
    A write taking them in its own order (a receipt's lines as the request lists them) deadlocked with another
    taking them the other way round; once locked here, its movements may land in any order."""
    # DO UPDATE rather than DO NOTHING: it locks the row also when it exists, or another transaction made it meanwhile.
    await conn.executemany(
        """INSERT INTO app.stock_levels (tenant_id, product_id, warehouse_id) VALUES ($1, $2, $3)
           ON CONFLICT (tenant_id, product_id, warehouse_id) DO UPDATE SET updated_at = app.stock_levels.updated_at""",
        [(tenant_id, product_id, warehouse_id) for product_id, warehouse_id in sorted(set(levels))],
    )


async def record_movement(
    conn: asyncpg.Connection, tenant_id: UUID, user_id: UUID, movement: MovementCreate
) -> tuple[list[dict], list[dict]]:
    """Write one movement (two for a transfer); returns the ledger rows and the resulting levels."""
    legs = _legs(movement)
    # One product: the lock order of ``lock_levels`` (by warehouse) keeps two opposite transfers from deadlocking.
    legs.sort(key=lambda leg: leg[0])
    transfer_id = uuid4() if isinstance(movement, TransferCreate) else None
    reason = movement.reason if isinstance(movement, AdjustmentCreate) else None
    rows: list[dict] = []
    for warehouse_id, movement_type, quantity in legs:
        if quantity < 0:
            # Expired holds give their stock back first: the level reads them as released already, and an issue
            # it says is available must not be refused for them.
            await release_expired(conn, movement.product_id, warehouse_id)
            # The insert's CHECK refusal is a backstop only: this checks under a row lock, with the figures.
            await _lock_available(conn, movement.product_id, warehouse_id, -quantity)
        entry = LedgerEntry(
            product_id=movement.product_id, warehouse_id=warehouse_id, movement_type=movement_type,
            quantity=quantity, reference=movement.reference, reason=reason, created_by=user_id,
            occurred_at=movement.occurred_at, transfer_id=transfer_id,
            # Nothing new goes into a deactivated (closed) warehouse; stock may still leave it, and counts may
            # still be corrected there.
            active_warehouse_only=movement_type in ("receipt", "transfer_in"),
            # A receipt here names no lot: stock of a lot-tracked product comes in through a purchase receipt,
            # which does (else it could not be traced to its lot in a recall).
            lot_or_untracked=movement_type == "receipt",
        )  # fmt: skip
        rows.append(await insert_movement(conn, tenant_id, entry))
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


async def release_expired(
    conn: asyncpg.Connection, product_id: UUID | None = None, warehouse_id: UUID | None = None
) -> int:
    """Release the active holds past their ``expires_at`` (of one level, or all this connection can see):
    each is marked expired and its quantity leaves ``reserved``. Returns how many were released."""
    released: int = await conn.fetchval("SELECT app.release_expired_reservations($1, $2)", product_id, warehouse_id)
    return released


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
