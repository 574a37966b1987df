"""ERP syncs through Serve: a sync started through the API runs as a Ray task; one aimed at the cloud metadata
address fails without calling it. Connector configuration: tests/deployments/api/test_connectors_api.py."""

from __future__ import annotations

import asyncio

import pytest

from tests.deployments.erp_bodies import odoo_body
from tests.support.fakes.odoo import FakeOdoo, populate

pytestmark = pytest.mark.serve


async def finished_run(http, tenant, run_id: str) -> dict:
    """The sync run once it has left queued/running (polled for up to a minute)."""
    for _ in range(120):
        run = (await http.get(f"/api/v1/integrations/runs/{run_id}", headers=tenant.headers())).json()
        if run["status"] not in ("queued", "running"):
            break
        await asyncio.sleep(0.5)
    return run


async def test_sync_triggered_through_the_api_runs_as_a_ray_task(http, make_tenant):
    tenant = await make_tenant()
    with FakeOdoo() as fake:
        populate(fake)
        created = await http.post(
            "/api/v1/integrations/connectors", json=odoo_body(fake.url), headers=tenant.admin_headers()
        )
        assert created.status_code == 201, created.text
        assert "credentials" not in created.json() and "odoo-key" not in created.text
        connector = created.json()["id"]
        started = await http.post(f"/api/v1/integrations/connectors/{connector}/sync", headers=tenant.headers())
        assert started.status_code == 202, started.text
        run = await finished_run(http, tenant, started.json()["id"])
    assert run["status"] == "completed_with_errors", run
    assert run["counts"]["products"]["created"] == 3
    status = (await http.get(f"/api/v1/integrations/connectors/{connector}", headers=tenant.headers())).json()
    assert status["open_dead_letters"] == 2 and status["last_run"]["id"] == run["id"]
    letters = await http.get(f"/api/v1/integrations/connectors/{connector}/dead-letters", headers=tenant.headers())
    assert {d["entity"] for d in letters.json()["items"]} == {"products"}


async def test_a_connector_aimed_at_the_metadata_address_fails_its_sync_without_calling_it(http, make_tenant):
    tenant = await make_tenant()
    body = odoo_body("http://169.254.169.254/latest", name="odoo-ssrf")
    created = await http.post("/api/v1/integrations/connectors", json=body, headers=tenant.admin_headers())
    assert created.status_code == 201, created.text
    connector = created.json()["id"]
    run = (await http.post(f"/api/v1/integrations/connectors/{connector}/sync", headers=tenant.headers())).json()
    run = await finished_run(http, tenant, run["id"])
    assert run["status"] == "failed", run
    assert "169.254.169.254 is not a public address" in str(run), run
