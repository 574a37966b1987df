"""A failure is notified once, when it starts, and its end once: a run that fails again as the one before it did (no
run that went through between them) is recorded failed and posts its event, but writes no notification."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from integrations.sync import run_sync
from tests.integrations.conftest import bare_tenant, odoo_connector, tap
from tests.support.fakes.odoo import FakeOdoo, populate

HIDDEN = "exist but are hidden from the API user by record rules"


async def _titles(owner_pool: asyncpg.Pool, tenant_id: uuid.UUID) -> list[str]:
    rows = await owner_pool.fetch(
        """SELECT title FROM app.notifications WHERE tenant_id = $1 AND kind = 'integration_sync'
           ORDER BY created_at, id""",
        tenant_id,
    )
    return [r["title"] for r in rows]


async def _statuses(owner_pool: asyncpg.Pool, connector: uuid.UUID) -> list[str]:
    rows = await owner_pool.fetch(
        "SELECT status FROM app.integration_sync_runs WHERE connector_id = $1 ORDER BY created_at, id", connector
    )
    return [r["status"] for r in rows]


def _hide(odoo: FakeOdoo, *numbers: str) -> None:
    odoo.hidden["purchase.order"] = {i for i, row in odoo.models["purchase.order"].items() if row["name"] in numbers}


async def _synced(sync_deps: Any, owner_pool: Any, make_tenant: Any, odoo: FakeOdoo) -> tuple[Any, uuid.UUID]:
    populate(odoo)
    tenant = await bare_tenant(owner_pool, make_tenant)
    connector = await odoo_connector(sync_deps, tenant, odoo.url, options={"database": "prod"})
    assert (await run_sync(sync_deps, tenant.id, connector))["status"] == "completed_with_errors"  # its broken item
    await owner_pool.execute("DELETE FROM app.notifications WHERE tenant_id = $1", tenant.id)  # that item's notice
    return tenant, connector


async def test_an_order_odoo_keeps_hidden_is_notified_once_and_again_only_after_a_run_went_through(
    sync_deps, owner_pool, make_tenant
):
    # Before, every run while the order stayed hidden wrote the same notification: 96 a day at 15 minutes.
    with FakeOdoo() as odoo:
        tenant, connector = await _synced(sync_deps, owner_pool, make_tenant, odoo)
        _hide(odoo, "P00002")
        async with tap(owner_pool, tenant.id) as seen:
            runs = [await run_sync(sync_deps, tenant.id, connector) for _ in range(2)]
        assert [r["status"] for r in runs] == ["failed", "failed"] and HIDDEN in runs[0]["error"]
        assert runs[1]["error"] == runs[0]["error"]
        assert [e["type"] for e in seen] == ["integration.sync_failed"] * 2  # every run still posts its event
        failed = f"ERP sync of erp failed: {runs[0]['error']}"
        assert await _titles(owner_pool, tenant.id) == [failed]
        odoo.hidden.clear()  # the Odoo admin gave the access back
        assert (await run_sync(sync_deps, tenant.id, connector))["status"] == "completed_with_errors"
        assert await _titles(owner_pool, tenant.id) == [failed, "ERP sync of erp works again"]
        _hide(odoo, "P00002")
        assert (await run_sync(sync_deps, tenant.id, connector))["status"] == "failed"
    assert await _titles(owner_pool, tenant.id) == [failed, "ERP sync of erp works again", failed]
    went_through = "completed_with_errors"  # the sample's broken item, as every run
    assert await _statuses(owner_pool, connector) == [went_through, "failed", "failed", went_through, "failed"]


async def test_a_different_failure_after_a_failure_is_notified(sync_deps, owner_pool, make_tenant):
    with FakeOdoo() as odoo:
        tenant, connector = await _synced(sync_deps, owner_pool, make_tenant, odoo)
        _hide(odoo, "P00002")
        first = await run_sync(sync_deps, tenant.id, connector)
        _hide(odoo, "P00001", "P00002")  # one more order hidden: another message, another failure
        second = await run_sync(sync_deps, tenant.id, connector)
    assert first["error"] != second["error"]
    assert await _titles(owner_pool, tenant.id) == [f"ERP sync of erp failed: {r['error']}" for r in (first, second)]


async def test_a_run_that_went_through_after_no_failure_writes_no_notification(sync_deps, owner_pool, make_tenant):
    with FakeOdoo() as odoo:
        tenant, connector = await _synced(sync_deps, owner_pool, make_tenant, odoo)
        await run_sync(sync_deps, tenant.id, connector)
    assert await _statuses(owner_pool, connector) == ["completed_with_errors"] * 2
    assert await _titles(owner_pool, tenant.id) == []
