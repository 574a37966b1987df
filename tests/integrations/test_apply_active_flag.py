"""A synced product's or supplier's active flag: the ERP's own changes are synced, a change made here is kept."""

from __future__ import annotations

from integrations.sync import run_sync
from inventory import catalog
from inventory.catalog_schemas import ProductUpdate, SupplierUpdate
from tests.integrations.conftest import synced_bc_tenant
from tests.support.fakes.dynamics import FakeDynamics


def erp_id(fake: FakeDynamics, table: str, number: str) -> str:
    return next(r["id"] for r in fake.tables[table].values() if r.get("number") == number)


async def active_flags(owner_pool, tenant_id) -> tuple[bool, bool]:
    """(product 1002, supplier 30000)."""
    product = await owner_pool.fetchval(
        "SELECT active FROM app.products WHERE tenant_id = $1 AND sku = '1002'", tenant_id
    )
    supplier = await owner_pool.fetchval(
        "SELECT active FROM app.suppliers WHERE tenant_id = $1 AND code = '30000'", tenant_id
    )
    return product, supplier


async def deactivate_here(sync_deps, owner_pool, tenant) -> None:
    """PATCH {"active": false} of product 1002 and supplier 30000."""
    product = await owner_pool.fetchval("SELECT id FROM app.products WHERE tenant_id = $1 AND sku = '1002'", tenant.id)
    supplier = await owner_pool.fetchval(
        "SELECT id FROM app.suppliers WHERE tenant_id = $1 AND code = '30000'", tenant.id
    )

    async def patch(tx):
        await catalog.update(tx.conn, catalog.PRODUCTS, product, ProductUpdate(active=False))
        await catalog.update(tx.conn, catalog.SUPPLIERS, supplier, SupplierUpdate(active=False))

    await sync_deps.database.run(tenant.claims(), None, patch)


async def forget_erp_flags(owner_pool, tenant_id) -> None:
    """As the maps written before migration 0148 hold them."""
    await owner_pool.execute(
        "UPDATE app.integration_external_ids SET erp_active = NULL WHERE tenant_id = $1", tenant_id
    )


def edit_something_else(fake: FakeDynamics) -> None:
    fake.put("items", {"unitCost": 9.75}, erp_id(fake, "items", "1002"))
    fake.put("vendors", {"email": "new@vendor.example"}, erp_id(fake, "vendors", "30000"))


async def test_a_row_deactivated_here_stays_inactive_when_the_erp_edits_something_else(
    sync_deps, owner_pool, make_tenant, bc
):
    tenant, connector = await synced_bc_tenant(sync_deps, owner_pool, make_tenant, bc)
    await deactivate_here(sync_deps, owner_pool, tenant)
    edit_something_else(bc)

    run = await run_sync(sync_deps, tenant.id, connector)

    assert (run["counts"]["products"]["updated"], run["counts"]["suppliers"]["updated"]) == (1, 1)
    assert await active_flags(owner_pool, tenant.id) == (False, False)


async def test_the_erp_s_own_deactivation_and_reactivation_are_synced(sync_deps, owner_pool, make_tenant, bc):
    tenant, connector = await synced_bc_tenant(sync_deps, owner_pool, make_tenant, bc)
    bc.put("items", {"blocked": True}, erp_id(bc, "items", "1002"))
    bc.put("vendors", {"blocked": "All"}, erp_id(bc, "vendors", "30000"))
    await run_sync(sync_deps, tenant.id, connector)
    deactivated = await active_flags(owner_pool, tenant.id)

    bc.put("items", {"blocked": False}, erp_id(bc, "items", "1002"))
    bc.put("vendors", {"blocked": "_x0020_"}, erp_id(bc, "vendors", "30000"))
    await run_sync(sync_deps, tenant.id, connector)

    assert (deactivated, await active_flags(owner_pool, tenant.id)) == ((False, False), (True, True))


async def test_a_record_mapped_before_the_erp_s_flag_was_kept_takes_a_deactivation_but_no_activation(
    sync_deps, owner_pool, make_tenant, bc
):
    tenant, connector = await synced_bc_tenant(sync_deps, owner_pool, make_tenant, bc)
    await forget_erp_flags(owner_pool, tenant.id)
    await deactivate_here(sync_deps, owner_pool, tenant)
    edit_something_else(bc)
    await run_sync(sync_deps, tenant.id, connector)
    kept = await active_flags(owner_pool, tenant.id)

    await forget_erp_flags(owner_pool, tenant.id)
    await owner_pool.execute("UPDATE app.products SET active = true WHERE tenant_id = $1", tenant.id)
    await owner_pool.execute("UPDATE app.suppliers SET active = true WHERE tenant_id = $1", tenant.id)
    bc.put("items", {"blocked": True}, erp_id(bc, "items", "1002"))
    bc.put("vendors", {"blocked": "All"}, erp_id(bc, "vendors", "30000"))
    await run_sync(sync_deps, tenant.id, connector)

    assert (kept, await active_flags(owner_pool, tenant.id)) == ((False, False), (False, False))
