"""Business Central vendors synced inactive before 2026-12-07 (every vendor, by the old reading of `blocked`)."""

from __future__ import annotations

from common.migrate import load_migrations
from integrations.sync import run_sync
from tests.integrations.conftest import synced_bc_tenant


async def _supplier_flags(owner_pool, tenant_id) -> list[tuple[str, bool, bool | None]]:
    rows = await owner_pool.fetch(
        """SELECT s.code, s.active, m.erp_active FROM app.suppliers s
           JOIN app.integration_external_ids m ON m.local_id = s.id AND m.entity = 'suppliers'
           WHERE s.tenant_id = $1 ORDER BY s.code""",
        tenant_id,
    )
    return [(r["code"], r["active"], r["erp_active"]) for r in rows]


async def test_the_repair_reactivates_vendors_not_blocked_and_leaves_one_blocked_for_all_inactive(
    sync_deps, owner_pool, make_tenant, bc
):
    vendors = {v["number"]: v for v in bc.tables["vendors"].values()}
    for vendor in vendors.values():
        vendor["blocked"] = "All"  # what the old reading took every vendor's blank member "_x0020_" for
    # Synced inactive, each fingerprint of its values with active false.
    tenant, connector = await synced_bc_tenant(sync_deps, owner_pool, make_tenant, bc)
    # Maps from before 0148, and the syncs since past every vendor; Business Central has not edited them since.
    await owner_pool.execute(
        "UPDATE app.integration_external_ids SET erp_active = NULL WHERE tenant_id = $1 AND entity = 'suppliers'",
        tenant.id,
    )
    await owner_pool.execute(
        """UPDATE app.integration_sync_state SET cursor = '{"lastModifiedDateTime": "2030-01-01T00:00:00.000Z"}'
           WHERE connector_id = $1 AND entity = 'suppliers'""",
        connector,
    )
    vendors["20000"]["blocked"] = "_x0020_"  # not blocked, as Business Central holds it
    assert await _supplier_flags(owner_pool, tenant.id) == [("20000", False, None), ("30000", False, None)]

    (repair,) = [m for m in load_migrations() if m.name == "business_central_vendors_reactivated"]
    await owner_pool.execute(repair.sql)
    await run_sync(sync_deps, tenant.id, connector)
    assert await _supplier_flags(owner_pool, tenant.id) == [("20000", True, True), ("30000", False, False)]
