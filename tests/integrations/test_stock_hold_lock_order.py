"""The ERP stock sync takes a level's expired holds before the level, and the level a remapped record leaves in
order with the one it lands on, as every other write of stock (``integrations.stock_lock_order``).

Deterministic rather than a race: a writer holds what comes first in the lock order, the sync starts, then the
writer takes what comes next. A sync that took anything later first holds it while it waits, and the writer's
second step closes the cycle (PostgreSQL's deadlock detector fails one of the two after deadlock_timeout)."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest

from integrations.apply import apply_page, close_stock_snapshot
from integrations.external_ids import SyncScope
from integrations.mapping import FieldMapping
from integrations.records import Entity, Page, SourceRecord
from inventory.stock import lock_levels
from tests.integrations.conftest import odoo_connector
from tests.support.fakes.odoo import FakeOdoo


async def _scope(sync_deps, tenant) -> SyncScope:
    with FakeOdoo() as fake:
        connector = await odoo_connector(sync_deps, tenant, fake.url)
    return SyncScope(tenant.id, connector, "erp", uuid.uuid4(), FieldMapping(), frozenset({"each"}))


async def _map(conn, tenant, scope: SyncScope, rows: list[tuple[str, str, uuid.UUID, Decimal | None]]) -> None:
    await conn.executemany(
        "INSERT INTO app.integration_external_ids (tenant_id, connector_id, entity, external_id, local_id, quantity)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        [(tenant.id, scope.connector_id, entity, external_id, local, qty) for entity, external_id, local, qty in rows],
    )


async def _receive(conn, tenant, product: uuid.UUID, warehouse: uuid.UUID, quantity: int) -> uuid.UUID:
    await conn.execute(
        "INSERT INTO app.stock_movements (tenant_id, product_id, warehouse_id, movement_type, quantity)"
        " VALUES ($1, $2, $3, 'receipt', $4)",
        tenant.id, product, warehouse, quantity,
    )  # fmt: skip
    level: uuid.UUID = await conn.fetchval(
        "SELECT id FROM app.stock_levels WHERE product_id = $1 AND warehouse_id = $2", product, warehouse
    )
    return level


@pytest.mark.parametrize("step", ["page", "snapshot_close"])
async def test_the_sync_releases_a_levels_expired_holds_before_locking_it(step, sync_deps, owner_pool, make_tenant):
    tenant = await make_tenant()
    product, warehouse = tenant.products[0], tenant.warehouses[0]
    scope = await _scope(sync_deps, tenant)
    async with owner_pool.acquire() as conn, conn.transaction():
        level = await _receive(conn, tenant, product, warehouse, 10)
        hold = await conn.fetchval(
            "INSERT INTO app.reservations (tenant_id, product_id, warehouse_id, quantity, expires_at)"
            " VALUES ($1, $2, $3, 4, now() - interval '1 minute') RETURNING id",
            tenant.id, product, warehouse,
        )  # fmt: skip
        await conn.execute("UPDATE app.stock_levels SET reserved = reserved + 4 WHERE id = $1", level)
        maps = [("products", "P", product, None), ("warehouses", "W", warehouse, None)]
        await _map(conn, tenant, scope, [*maps, ("stock", "S", level, Decimal(10))])
    # The ERP lowers the level below its expired hold (a page), or no longer reports it (the snapshot's close).
    record = SourceRecord("S", {"product_external_id": "P", "warehouse_external_id": "W", "quantity": 8})

    async def sync() -> None:
        async with owner_pool.acquire() as conn, conn.transaction():
            if step == "page":
                counts = await apply_page(conn, scope, Entity.STOCK, Page([record]))
            else:
                counts = await close_stock_snapshot(conn, scope, set())
            assert counts.updated == 1, counts

    # The writer takes the hold, then its level: as the release job and a reservation of the level do.
    async with owner_pool.acquire() as writer, writer.transaction():
        await writer.execute("SELECT 1 FROM app.reservations WHERE id = $1 FOR UPDATE", hold)
        synced = asyncio.create_task(sync())
        await asyncio.sleep(0.5)  # the sync is under way, waiting for the hold
        await writer.execute("SELECT 1 FROM app.stock_levels WHERE id = $1 FOR UPDATE", level)
    await synced
    row = await owner_pool.fetchrow("SELECT on_hand, reserved FROM app.stock_levels WHERE id = $1", level)
    assert (row["on_hand"], row["reserved"]) == (Decimal(8) if step == "page" else Decimal(0), Decimal(0))
    assert await owner_pool.fetchval("SELECT status FROM app.reservations WHERE id = $1", hold) == "expired"


@pytest.mark.parametrize("new_level", ["existing", "made_by_the_sync"])
async def test_a_remapped_record_locks_the_level_it_leaves_in_order(new_level, sync_deps, owner_pool, make_tenant):
    tenant = await make_tenant()
    product = tenant.products[0]
    first, second = sorted(tenant.warehouses)  # the level it leaves comes first in the lock order
    scope = await _scope(sync_deps, tenant)
    async with owner_pool.acquire() as conn, conn.transaction():
        left = await _receive(conn, tenant, product, first, 10)
        if new_level == "existing":
            await _receive(conn, tenant, product, second, 3)
        # The ERP's warehouse now maps to the second warehouse; the record set the first one's level before.
        maps = [("products", "P", product, None), ("warehouses", "W", second, None)]
        await _map(conn, tenant, scope, [*maps, ("stock", "S", left, Decimal(10))])
    record = SourceRecord("S", {"product_external_id": "P", "warehouse_external_id": "W", "quantity": 7})

    async def sync() -> None:
        async with owner_pool.acquire() as conn, conn.transaction():
            counts = await apply_page(conn, scope, Entity.STOCK, Page([record]))
            assert counts.dead_lettered == 0, counts

    async with owner_pool.acquire() as writer, writer.transaction():
        await lock_levels(writer, tenant.id, [(product, first)])
        synced = asyncio.create_task(sync())
        await asyncio.sleep(0.5)  # the sync is under way, waiting for the first level
        await lock_levels(writer, tenant.id, [(product, second)])
    await synced
    rows = await owner_pool.fetch(
        "SELECT id, warehouse_id, on_hand FROM app.stock_levels WHERE product_id = $1 ORDER BY warehouse_id", product
    )
    assert [(r["warehouse_id"], r["on_hand"]) for r in rows] == [(first, Decimal(0)), (second, Decimal(7))]
    mapped = await owner_pool.fetchval(
        "SELECT local_id FROM app.integration_external_ids WHERE connector_id = $1 AND entity = 'stock'"
        " AND external_id = 'S'",
        scope.connector_id,
    )
    assert mapped == rows[1]["id"]
