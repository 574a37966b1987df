"""Scheduled ERP syncs as Ray tasks: the due-sync job (the RayCronJob's entrypoint) and `chainsight up`'s loop."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from common.config import get_settings
from deployments.integrations_job import DueSyncLoop, main
from integrations.crypto import cipher_from_key
from integrations.http import RetryPolicy
from integrations.sync import SyncDeps
from tests.integrations.conftest import TEST_KEY, bare_tenant, configure, snapshot
from tests.support.fakes.odoo import FakeOdoo, populate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sync_deps(database) -> SyncDeps:
    """Only to configure connectors here; the jobs build their own from the settings."""
    return SyncDeps(database, cipher_from_key(TEST_KEY), RetryPolicy(max_attempts=1), page_size=4)


async def scheduled_odoo(sync_deps, owner_pool, make_tenant, fake: FakeOdoo):
    tenant = await bare_tenant(owner_pool, make_tenant)
    connector = await configure(
        sync_deps,
        tenant,
        kind="odoo",
        base_url=fake.url,
        options={"database": "prod"},
        credentials={"username": "sync@example.com", "api_key": "odoo-key"},
        mapping={"units": {"Units": "each"}, "default_currency": "EUR"},
        sync_interval_minutes=30,
    )
    return tenant, connector


async def runs_of(owner_pool, connector_id) -> list[tuple[str, str]]:
    async with owner_pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT trigger, status FROM app.integration_sync_runs WHERE connector_id = $1 ORDER BY created_at, id",
            connector_id,
        )
    return [tuple(r) for r in rows]


async def test_the_due_sync_job_runs_due_connectors_as_ray_tasks_and_prints_a_summary(
    ray_cluster, sync_deps, owner_pool, make_tenant, capsys
):
    with FakeOdoo() as fake:
        populate(fake)
        tenant, connector = await scheduled_odoo(sync_deps, owner_pool, make_tenant, fake)
        # In a thread, as from a shell: the job runs its own event loops.
        await asyncio.to_thread(main, ["--due", "--tenant", str(tenant.id)])
        summary = json.loads(capsys.readouterr().out)
        await asyncio.to_thread(main, ["--due", "--tenant", str(tenant.id)])  # just synced: nothing is due
        again = json.loads(capsys.readouterr().out)
    assert summary["claimed"] == 1 and summary["by_status"] == {"completed_with_errors": 1}, summary
    (run,) = summary["runs"]
    assert run["connector_id"] == str(connector) and run["counts"]["products"]["created"] == 3
    assert again == {"claimed": 0, "by_status": {}, "runs": []}
    assert await runs_of(owner_pool, connector) == [("schedule", "completed_with_errors")]
    assert len((await snapshot(owner_pool, tenant.id))["products"]) == 3


async def test_the_background_loop_syncs_a_due_connector_and_stops_cleanly(
    ray_cluster, sync_deps, owner_pool, make_tenant
):
    with FakeOdoo() as fake:
        populate(fake)
        tenant, connector = await scheduled_odoo(sync_deps, owner_pool, make_tenant, fake)
        loop = DueSyncLoop(get_settings(), every_s=0.2, tenant_id=tenant.id).start()
        try:
            deadline = time.monotonic() + 180
            for _ in range(900):
                if [s for _, s in await runs_of(owner_pool, connector)] == ["completed_with_errors"]:
                    break
                assert time.monotonic() < deadline, await runs_of(owner_pool, connector)
                await asyncio.sleep(0.2)
            rounds = loop.rounds
            await asyncio.sleep(1.0)  # more checks: the connector is not due again for 30 minutes
        finally:
            loop.stop()
    assert not loop.running
    assert loop.rounds > rounds
    assert await runs_of(owner_pool, connector) == [("schedule", "completed_with_errors")]
