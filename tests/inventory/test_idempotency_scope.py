"""Idempotency keys are per user and expire after 24 hours (against the real database)."""

from __future__ import annotations

from common.database import TenantTransaction
from deployments.maintenance_job import run_maintenance
from inventory import idempotency
from inventory.idempotency import StoredResponse


def use_key(key: str, fingerprint: str, body: dict):
    async def op(tx: TenantTransaction) -> tuple[StoredResponse | None, bool]:
        stored = await idempotency.claim(tx.conn, tx.tenant_id, tx.user_id, key, fingerprint)
        if stored is not None:
            return stored, True
        await idempotency.store(tx.conn, tx.tenant_id, tx.user_id, key, StoredResponse(201, body))
        return None, False

    return op


async def test_two_members_of_one_tenant_may_use_the_same_key_for_different_requests(database, make_tenant):
    tenant = await make_tenant()
    _, replayed_planner = await database.run(tenant.claims(tenant.planner), None, use_key("k1", "a", {"who": "p"}))
    _, replayed_admin = await database.run(tenant.claims(tenant.admin), None, use_key("k1", "b", {"who": "a"}))
    assert (replayed_planner, replayed_admin) == (False, False)  # not refused, and not the planner's response
    again, replayed = await database.run(tenant.claims(tenant.admin), None, use_key("k1", "b", {}))
    assert replayed and again.body == {"who": "a"}


async def test_a_key_older_than_a_day_is_claimed_afresh_and_purged(database, make_tenant, owner_pool):
    tenant = await make_tenant()
    await database.run(tenant.claims(), None, use_key("old", "a", {"n": 1}))
    await owner_pool.execute(
        "UPDATE app.idempotency_keys SET created_at = now() - interval '25 hours' WHERE tenant_id = $1", tenant.id
    )
    stored, replayed = await database.run(tenant.claims(), None, use_key("old", "different request", {"n": 2}))
    assert (stored, replayed) == (None, False)
    await owner_pool.execute(
        "UPDATE app.idempotency_keys SET created_at = now() - interval '25 hours' WHERE tenant_id = $1", tenant.id
    )
    async with owner_pool.acquire() as conn:
        summary = await run_maintenance(conn)
    assert summary["idempotency_keys_deleted"] >= 1
    assert await owner_pool.fetchval("SELECT count(*) FROM app.idempotency_keys WHERE tenant_id = $1", tenant.id) == 0


async def test_the_maintenance_job_deletes_carrier_deliveries_past_their_retention(make_tenant, owner_pool):
    from tests.common.logistics_rows import add_logistics_rows

    old, recent = await make_tenant(), await make_tenant()
    async with owner_pool.acquire() as conn:
        for tenant in (old, recent):
            await conn.execute("INSERT INTO app.suppliers (tenant_id, code, name) VALUES ($1, 'S1', 's')", tenant.id)
            await add_logistics_rows(conn, tenant)
        await conn.execute(
            "UPDATE app.carrier_webhook_deliveries SET received_at = now() - interval '31 days' WHERE tenant_id = $1",
            old.id,
        )
        summary = await run_maintenance(conn)
    left = "SELECT count(*) FROM app.carrier_webhook_deliveries WHERE tenant_id = $1"
    assert summary["carrier_deliveries_deleted"] >= 1
    assert (await owner_pool.fetchval(left, old.id), await owner_pool.fetchval(left, recent.id)) == (0, 1)


async def test_the_local_housekeeping_loop_runs_the_maintenance_job(settings, database_url):
    import asyncio

    from deployments.maintenance_job import MaintenanceLoop

    loop = MaintenanceLoop(settings.model_copy(update={"database_url": database_url}), every_s=3600).start()
    try:
        for _ in range(100):
            if loop.last_summary is not None:
                break
            await asyncio.sleep(0.1)
    finally:
        loop.stop()
    assert loop.last_summary is not None and set(loop.last_summary) == {
        "reservations_released",
        "idempotency_keys_deleted",
        "carrier_deliveries_deleted",
    }
