"""Every dead letter is announced once: by the close of the run that opened it, even a run that then failed."""

from __future__ import annotations

import uuid

import asyncpg

from common.database import TenantTransaction
from integrations.apply import apply_page
from integrations.external_ids import SyncScope
from integrations.mapping import FieldMapping
from integrations.records import Entity, Page, SourceRecord
from integrations.sync import queue_run, run_sync
from tests.integrations.conftest import bare_tenant, odoo_connector
from tests.support.fakes.odoo import FakeOdoo, populate

DEAD_LETTERED = "some records were dead-lettered"


async def _titles(owner_pool: asyncpg.Pool, tenant_id: uuid.UUID) -> list[str]:
    rows = await owner_pool.fetch(
        """SELECT title FROM app.notifications WHERE tenant_id = $1 AND kind = 'integration_sync'
           ORDER BY created_at, id""",
        tenant_id,
    )
    return [r["title"] for r in rows]


async def _open_dead_letters(owner_pool: asyncpg.Pool, connector: uuid.UUID) -> int:
    count: int = await owner_pool.fetchval(
        "SELECT count(*) FROM app.integration_dead_letters WHERE connector_id = $1 AND resolved_at IS NULL",
        connector,
    )
    return count


async def _failed_after_dead_lettering(sync_deps, owner_pool, make_tenant, fake: FakeOdoo):
    """A tenant whose first sync dead-letters the malformed products of its first page, then loses the ERP."""
    populate(fake)
    tenant = await bare_tenant(owner_pool, make_tenant)
    connector = await odoo_connector(sync_deps, tenant, fake.url)
    # authenticate; for warehouses, suppliers and products the newest write and the pages, with the warehouses'
    # address time zones: up to the first page of products (its two malformed ones); then the ERP goes away
    fake.drop_after(8)
    run = await run_sync(sync_deps, tenant.id, connector)
    assert run["status"] == "failed" and run["counts"]["products"]["dead_lettered"] == 2, run
    return tenant, connector, run


async def test_a_run_that_dead_letters_records_and_then_fails_announces_them_with_its_failure(
    sync_deps, owner_pool, make_tenant
):
    # Before, its notification said only that it failed, and no later run announced them: not opened there.
    with FakeOdoo() as fake:
        tenant, _, run = await _failed_after_dead_lettering(sync_deps, owner_pool, make_tenant, fake)
    assert await _titles(owner_pool, tenant.id) == [f"ERP sync of erp failed ({DEAD_LETTERED}): {run['error']}"]


async def test_the_rerun_of_a_failed_run_announces_its_dead_letters_no_second_time(sync_deps, owner_pool, make_tenant):
    with FakeOdoo() as fake:
        tenant, connector, _ = await _failed_after_dead_lettering(sync_deps, owner_pool, make_tenant, fake)
        fake.heal()
        await owner_pool.execute(  # the rerun reads the malformed products again and meets their dead letters
            "UPDATE app.integration_sync_state SET cursor = NULL WHERE connector_id = $1", connector
        )
        for _ in range(2):
            assert (await run_sync(sync_deps, tenant.id, connector))["counts"]["products"]["dead_lettered"] == 2
    assert sum(DEAD_LETTERED in t for t in await _titles(owner_pool, tenant.id)) == 1


async def _dead_letter_in(sync_deps, tenant, connector: uuid.UUID, run_id: uuid.UUID) -> None:
    """What a job writes for run ``run_id``: stock of a product the ERP never sent, dead-lettered."""
    scope = SyncScope(tenant.id, connector, "erp", run_id, FieldMapping(), frozenset({"each"}))
    record = SourceRecord("stock-x", {"warehouse_code": "WH-0", "quantity": 5, "product_external_id": "x"})

    async def op(tx: TenantTransaction):
        return await apply_page(tx.conn, scope, Entity.STOCK, Page([record]))

    assert (await sync_deps.database.run(tenant.claims(), None, op)).dead_lettered == 1


async def test_dead_letters_of_a_run_whose_job_died_are_announced_when_it_is_failed_as_abandoned(
    sync_deps, owner_pool, make_tenant
):
    tenant = await make_tenant()
    connector = await odoo_connector(sync_deps, tenant, FakeOdoo().url)
    run = await sync_deps.database.run(tenant.claims(), None, lambda tx: queue_run(tx, connector, "api"))
    await _dead_letter_in(sync_deps, tenant, connector, run["id"])
    await owner_pool.execute(
        """UPDATE app.integration_sync_runs SET status = 'running', started_at = now() - interval '40 minutes',
               heartbeat_at = now() - interval '30 minutes' WHERE id = $1""",
        run["id"],
    )
    await sync_deps.database.run(tenant.claims(), None, lambda tx: queue_run(tx, connector, "api"))
    abandoned = "abandoned: the sync job stopped reporting"
    assert await _titles(owner_pool, tenant.id) == [f"ERP sync of erp failed ({DEAD_LETTERED}): {abandoned}"]
