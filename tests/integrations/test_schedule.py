"""Scheduled syncs: which connectors are due, claimed once across concurrent schedulers, run like any sync."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from common.database import TenantTransaction
from integrations.schedule import claim_due_syncs, keep_claims
from integrations.sync import queue_run, run_sync
from tests.integrations.conftest import bare_tenant, odoo_connector, snapshot, tap
from tests.support.fakes.odoo import FakeOdoo, populate


async def claim(owner_pool: asyncpg.Pool, tenant_id):
    async with owner_pool.acquire() as conn:
        return await claim_due_syncs(conn, tenant_id=tenant_id)


async def age_runs(owner_pool: asyncpg.Pool, connector_id, minutes: int) -> None:
    """Move a connector's run history back in time, as if the runs had started `minutes` earlier."""
    async with owner_pool.acquire() as conn:
        await conn.execute(
            """UPDATE app.integration_sync_runs
               SET created_at = created_at - make_interval(mins => $2),
                   started_at = started_at - make_interval(mins => $2),
                   heartbeat_at = heartbeat_at - make_interval(mins => $2),
                   finished_at = finished_at - make_interval(mins => $2)
               WHERE connector_id = $1""",
            connector_id,
            minutes,
        )


async def runs_of(owner_pool: asyncpg.Pool, connector_id) -> list[tuple[str, str]]:
    async with owner_pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT trigger, status FROM app.integration_sync_runs WHERE connector_id = $1 ORDER BY created_at, id",
            connector_id,
        )
    return [tuple(r) for r in rows]


async def test_a_due_connector_is_claimed_once_by_two_concurrent_schedulers(sync_deps, owner_pool, make_tenant):
    tenant = await make_tenant()
    connector = await odoo_connector(sync_deps, tenant, "http://127.0.0.1:1", sync_interval_minutes=60)
    first, second = await asyncio.gather(claim(owner_pool, tenant.id), claim(owner_pool, tenant.id))
    claims = first + second
    assert [(c.connector_id, c.connector_name) for c in claims] == [(connector, "erp")]
    assert await runs_of(owner_pool, connector) == [("schedule", "queued")]
    assert await claim(owner_pool, tenant.id) == []  # queued: in progress, not due again


async def test_a_claim_kept_while_it_waits_for_a_worker_is_not_taken_for_abandoned(sync_deps, owner_pool, make_tenant):
    # Before, a run still queued in its job's Ray queue after 15 minutes was failed by the next claim as "abandoned".
    tenant = await make_tenant()
    connector = await odoo_connector(sync_deps, tenant, "http://127.0.0.1:1", sync_interval_minutes=60)
    (due,) = await claim(owner_pool, tenant.id)
    await age_runs(owner_pool, connector, 16)
    async with owner_pool.acquire() as conn:
        assert await keep_claims(conn, [due.run_id]) == 1
    assert await claim(owner_pool, tenant.id) == []
    assert await runs_of(owner_pool, connector) == [("schedule", "queued")]


async def test_a_run_whose_job_stopped_reporting_is_failed_by_the_next_claim_and_announced(
    sync_deps, owner_pool, make_tenant
):
    # Before, the claim failed it as "abandoned" with a plain UPDATE: no notification, no integration.sync_failed.
    tenant = await make_tenant()
    connector = await odoo_connector(sync_deps, tenant, "http://127.0.0.1:1", sync_interval_minutes=60)
    (due,) = await claim(owner_pool, tenant.id)
    async with owner_pool.acquire() as conn:
        await conn.execute(
            "UPDATE app.integration_sync_runs SET status = 'running', started_at = now(), heartbeat_at = now() "
            "WHERE id = $1",
            due.run_id,
        )
    await age_runs(owner_pool, connector, 61)  # its job died an hour ago
    async with tap(owner_pool, tenant.id) as seen:
        (again,) = await claim(owner_pool, tenant.id)
    assert again.connector_id == connector  # no longer blocked by the dead run
    abandoned = "abandoned: the sync job stopped reporting"
    assert await runs_of(owner_pool, connector) == [("schedule", "failed"), ("schedule", "queued")]
    async with owner_pool.acquire() as conn:
        notified = await conn.fetch(
            "SELECT title FROM app.notifications WHERE tenant_id = $1 AND kind = 'integration_sync'", tenant.id
        )
    assert [n["title"] for n in notified] == [f"ERP sync of erp failed: {abandoned}"]
    announced = {"connector_id": str(connector), "connector": "erp", "run_id": str(due.run_id)}
    announced |= {"status": "failed", "counts": {}, "error": abandoned}  # as integrations.sync announces a run
    assert [(e["type"], e["data"]) for e in seen] == [("integration.sync_failed", announced)]


async def test_only_enabled_scheduled_idle_connectors_past_their_interval_are_claimed(
    sync_deps, owner_pool, make_tenant
):
    tenant = await make_tenant()
    url = "http://127.0.0.1:1"
    never_ran = await odoo_connector(sync_deps, tenant, url, "never-ran", sync_interval_minutes=5)
    overdue = await odoo_connector(sync_deps, tenant, url, "overdue", sync_interval_minutes=60)
    recent = await odoo_connector(sync_deps, tenant, url, "recent", sync_interval_minutes=60)
    manual = await odoo_connector(sync_deps, tenant, url, "manual")
    await odoo_connector(sync_deps, tenant, url, "disabled", sync_interval_minutes=5, enabled=False)
    busy = await odoo_connector(sync_deps, tenant, url, "busy", sync_interval_minutes=5)
    for connector in (overdue, recent, manual):
        assert (await run_sync(sync_deps, tenant.id, connector))["status"] == "failed"  # nothing listens on :1
    await age_runs(owner_pool, overdue, 61)
    await age_runs(owner_pool, recent, 50)
    await age_runs(owner_pool, manual, 10_000)

    async def queue(tx: TenantTransaction):
        return await queue_run(tx, busy, "api")

    await sync_deps.database.run(tenant.claims(), None, queue)
    claimed = await claim(owner_pool, tenant.id)
    assert sorted(c.connector_name for c in claimed) == ["never-ran", "overdue"]
    assert {c.connector_id for c in claimed} == {never_ran, overdue}
    assert (await runs_of(owner_pool, busy)) == [("api", "queued")]


async def test_a_connector_whose_acting_member_can_no_longer_write_is_not_claimed(sync_deps, owner_pool, make_tenant):
    tenant = await make_tenant()
    await odoo_connector(sync_deps, tenant, "http://127.0.0.1:1", sync_interval_minutes=5)
    async with owner_pool.acquire() as conn:
        await conn.execute(
            "UPDATE app.members SET role = 'viewer' WHERE tenant_id = $1 AND user_id = $2", tenant.id, tenant.admin
        )
    assert await claim(owner_pool, tenant.id) == []


async def test_members_cannot_claim_scheduled_syncs(sync_deps, make_tenant):
    tenant = await make_tenant()

    async def op(tx: TenantTransaction):
        return await tx.conn.fetch("SELECT * FROM app.claim_due_integration_syncs(NULL, 10)")

    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await sync_deps.database.run(tenant.claims(tenant.admin), None, op)


async def test_a_scheduled_run_syncs_the_erp_and_records_the_schedule_trigger(sync_deps, owner_pool, make_tenant):
    tenant = await bare_tenant(owner_pool, make_tenant)
    with FakeOdoo() as fake:
        populate(fake)
        connector = await odoo_connector(sync_deps, tenant, fake.url, sync_interval_minutes=30)
        (due,) = await claim(owner_pool, tenant.id)
        run = await run_sync(sync_deps, tenant.id, connector, run_id=due.run_id, trigger="schedule")
    assert run["id"] == due.run_id and run["trigger"] == "schedule"
    assert run["status"] == "completed_with_errors", run
    assert run["counts"]["products"]["created"] == 3
    assert len((await snapshot(owner_pool, tenant.id))["products"]) == 3
    assert await runs_of(owner_pool, connector) == [("schedule", "completed_with_errors")]
    assert await claim(owner_pool, tenant.id) == []  # it just ran: due again in 30 minutes


async def test_a_failed_scheduled_run_is_rerun_at_the_next_due_check_without_duplicates(
    sync_deps, owner_pool, make_tenant
):
    with FakeOdoo() as fake:
        populate(fake)
        clean = await bare_tenant(owner_pool, make_tenant)
        await run_sync(sync_deps, clean.id, await odoo_connector(sync_deps, clean, fake.url))
        tenant = await bare_tenant(owner_pool, make_tenant)
        connector = await odoo_connector(sync_deps, tenant, fake.url, sync_interval_minutes=15)
        fake.drop_after(4)  # authenticate, warehouses, suppliers, first page of products
        (due,) = await claim(owner_pool, tenant.id)
        failed = await run_sync(sync_deps, tenant.id, connector, run_id=due.run_id, trigger="schedule")
        assert failed["status"] == "failed" and "connection lost" in failed["error"], failed
        fake.heal()
        assert await claim(owner_pool, tenant.id) == []  # failed runs count too: the interval has not passed
        await age_runs(owner_pool, connector, 16)
        (again,) = await claim(owner_pool, tenant.id)
        rerun = await run_sync(sync_deps, tenant.id, connector, run_id=again.run_id, trigger="schedule")
    assert rerun["status"] == "completed_with_errors", rerun
    assert await snapshot(owner_pool, tenant.id) == await snapshot(owner_pool, clean.id)
    assert await runs_of(owner_pool, connector) == [("schedule", "failed"), ("schedule", "completed_with_errors")]


async def test_with_more_due_than_the_limit_the_ones_left_out_are_claimed_next(sync_deps, owner_pool, make_tenant):
    # Before, claims went in (tenant, id) order: the same first connectors every round, the others never.
    tenant = await make_tenant()
    url = "http://127.0.0.1:1"
    connectors = [await odoo_connector(sync_deps, tenant, url, f"erp-{i}", sync_interval_minutes=5) for i in range(3)]
    async with owner_pool.acquire() as conn:
        claims = await claim_due_syncs(conn, tenant_id=tenant.id, limit=2)
    first = {c.connector_id for c in claims}
    for due in claims:  # nothing listens on :1: each run fails, and is due again 5 minutes after it started
        assert (await run_sync(sync_deps, tenant.id, due.connector_id, run_id=due.run_id))["status"] == "failed"
        await age_runs(owner_pool, due.connector_id, 6)
    async with owner_pool.acquire() as conn:
        second = {c.connector_id for c in await claim_due_syncs(conn, tenant_id=tenant.id, limit=2)}
    (left_out,) = set(connectors) - first
    assert left_out in second
