"""The release job takes the levels of expired holds in the order every write of several levels takes them
(product, then warehouse), so it queues behind a receipt or delivery instead of deadlocking with it.

Deterministic rather than a race: a writer holds the first level in that order, the job starts, then the writer
takes the others. A job that took any other level first holds it while it waits, and the writer's second step
closes the cycle (PostgreSQL's deadlock detector fails one of the two after deadlock_timeout)."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

from inventory.stock import lock_levels, release_expired

LEVELS = 12


async def test_the_release_job_queues_behind_a_writer_of_several_levels(owner_pool, make_tenant):
    tenant = await make_tenant()
    warehouse = tenant.warehouses[0]
    products = sorted(uuid.uuid4() for _ in range(LEVELS))
    async with owner_pool.acquire() as conn, conn.transaction():
        await conn.executemany(
            "INSERT INTO app.products (id, tenant_id, sku, name, unit_of_measure) VALUES ($1, $2, $3, $4, 'each')",
            [(p, tenant.id, f"LOCK-{i}", f"Lock {i}") for i, p in enumerate(products)],
        )
        # Made (and so stored) last in the lock order first: a job reading levels as stored meets them backwards.
        for product in reversed(products):
            await conn.execute(
                "INSERT INTO app.stock_movements (tenant_id, product_id, warehouse_id, movement_type, quantity) "
                "VALUES ($1, $2, $3, 'receipt', 10)",
                tenant.id, product, warehouse,
            )  # fmt: skip
            await conn.execute(
                "INSERT INTO app.reservations (tenant_id, product_id, warehouse_id, quantity, expires_at)"
                " VALUES ($1, $2, $3, 1, now() - interval '1 minute')",
                tenant.id, product, warehouse,
            )  # fmt: skip
            await conn.execute(
                "UPDATE app.stock_levels SET reserved = reserved + 1 WHERE product_id = $1 AND warehouse_id = $2",
                product, warehouse,
            )  # fmt: skip

    async def job() -> int:
        async with owner_pool.acquire() as conn, conn.transaction():
            # The order must not hang on the plan: a hash aggregate over the expired holds (as the planner picks
            # for many of them) met the levels in hash order, a sort by tenant, product and warehouse by luck.
            await conn.execute("SET LOCAL enable_sort = off")
            return await release_expired(conn)

    async with owner_pool.acquire() as writer, writer.transaction():
        await lock_levels(writer, tenant.id, [(products[0], warehouse)])
        released = asyncio.create_task(job())
        await asyncio.sleep(0.5)  # the job is under way, waiting for the writer's first level
        await lock_levels(writer, tenant.id, [(p, warehouse) for p in products[1:]])
    assert await released >= LEVELS
    rows = await owner_pool.fetch(
        "SELECT reserved FROM app.stock_levels WHERE tenant_id = $1 AND product_id = ANY($2::uuid[])",
        tenant.id, products,
    )  # fmt: skip
    assert [row["reserved"] for row in rows] == [Decimal(0)] * LEVELS
    statuses = await owner_pool.fetch("SELECT DISTINCT status FROM app.reservations WHERE tenant_id = $1", tenant.id)
    assert [row["status"] for row in statuses] == ["expired"]
