"""The ERP stock sync takes stock levels in the order every write of several levels takes them (product, then
warehouse), so a page or a snapshot's close queues behind a receipt or delivery instead of deadlocking with it.

Deterministic rather than a race: a writer holds the first level in that order, the sync starts on records the
ERP lists the other way round, then the writer takes the other levels. A sync that took any other level first
holds it while it waits, and the writer's second step closes the cycle (PostgreSQL fails one of the two)."""

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

LEVELS = 8


@pytest.mark.parametrize("step", ["page", "snapshot_close"])
async def test_the_stock_sync_queues_behind_a_writer_of_several_levels(step, sync_deps, owner_pool, make_tenant):
    tenant = await make_tenant()
    warehouse = tenant.warehouses[0]
    with FakeOdoo() as fake:
        connector = await odoo_connector(sync_deps, tenant, fake.url)
    scope = SyncScope(tenant.id, connector, "erp", uuid.uuid4(), FieldMapping(), frozenset({"each"}))
    products = sorted(uuid.uuid4() for _ in range(LEVELS))
    descending = list(reversed(products))  # as the ERP lists them, and as their external ids sort
    async with owner_pool.acquire() as conn, conn.transaction():
        await conn.executemany(
            "INSERT INTO app.products (id, tenant_id, sku, name, unit_of_measure) VALUES ($1, $2, $3, $4, 'each')",
            [(p, tenant.id, f"LOCK-{i}", f"Lock {i}") for i, p in enumerate(products)],
        )
        await conn.executemany(
            "INSERT INTO app.stock_movements (tenant_id, product_id, warehouse_id, movement_type, quantity) "
            "VALUES ($1, $2, $3, 'receipt', 10)",
            [(tenant.id, p, warehouse) for p in descending],
        )
        maps = [(tenant.id, connector, "warehouses", "W", warehouse, None)]
        maps += [(tenant.id, connector, "products", f"P{i}", p, None) for i, p in enumerate(descending)]
        if step == "snapshot_close":  # records an earlier snapshot reported and this one no longer does
            levels = await conn.fetch(
                "SELECT id FROM app.stock_levels WHERE warehouse_id = $1 AND product_id = ANY($2::uuid[])"
                " ORDER BY product_id DESC",
                warehouse, products,
            )  # fmt: skip
            maps += [(tenant.id, connector, "stock", f"S{i}", r["id"], Decimal(10)) for i, r in enumerate(levels)]
        await conn.executemany(
            "INSERT INTO app.integration_external_ids (tenant_id, connector_id, entity, external_id, local_id,"
            " quantity) VALUES ($1, $2, $3, $4, $5, $6)",
            maps,
        )
    records = [
        SourceRecord(f"S{i}", {"product_external_id": f"P{i}", "warehouse_external_id": "W", "quantity": 20})
        for i in range(LEVELS)
    ]

    async def sync() -> None:
        async with owner_pool.acquire() as conn, conn.transaction():
            if step == "page":
                counts = await apply_page(conn, scope, Entity.STOCK, Page(records))
            else:
                counts = await close_stock_snapshot(conn, scope, set())
            assert counts.updated == LEVELS, counts

    async with owner_pool.acquire() as writer, writer.transaction():
        await lock_levels(writer, tenant.id, [(products[0], warehouse)])
        synced = asyncio.create_task(sync())
        await asyncio.sleep(0.5)  # the sync is under way, waiting for the writer's first level
        await lock_levels(writer, tenant.id, [(p, warehouse) for p in products[1:]])
    await synced
    rows = await owner_pool.fetch(
        "SELECT DISTINCT on_hand FROM app.stock_levels WHERE tenant_id = $1 AND product_id = ANY($2::uuid[])",
        tenant.id, products,
    )  # fmt: skip
    assert [row["on_hand"] for row in rows] == [Decimal(20) if step == "page" else Decimal(0)]
