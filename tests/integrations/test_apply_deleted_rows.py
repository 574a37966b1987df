"""A Chainsight row an ERP connector syncs, deleted here: refused now, and re-created where it already happened."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from common.errors import ConflictError
from integrations.sync import run_sync
from inventory import catalog
from tests.integrations.conftest import synced_bc_tenant
from tests.support.fakes.dynamics import FakeDynamics


@pytest.fixture
def bc(bc: FakeDynamics) -> FakeDynamics:
    """Business Central's sample data, with a location EAST, a vendor 40000 and an item 2000 that has no stock."""
    bc.put("locations", {"code": "EAST", "displayName": "East", "country": "US", "city": "Boston"})
    bc.put("vendors", {"number": "40000", "displayName": "Vendor 4", "currencyCode": "", "blocked": "_x0020_"})
    bc.put(
        "items",
        {"number": "2000", "displayName": "Item new", "baseUnitOfMeasureCode": "PCS", "unitCost": 3.5,
         "blocked": False, "inventory": 0.0},
    )  # fmt: skip
    return bc


def record(fake: FakeDynamics, table: str, field: str, value: str) -> dict:
    return next(r for r in fake.tables[table].values() if r.get(field) == value)


async def test_a_synced_row_deleted_here_is_created_again_and_takes_the_erp_s_later_stock_and_orders(
    sync_deps, owner_pool, make_tenant, bc
):
    tenant, connector = await synced_bc_tenant(sync_deps, owner_pool, make_tenant, bc)
    async with owner_pool.acquire() as conn:  # as a delete could until 2026-12-07
        await conn.execute("DELETE FROM app.products WHERE tenant_id = $1 AND sku = '2000'", tenant.id)
        await conn.execute("DELETE FROM app.suppliers WHERE tenant_id = $1 AND code = '40000'", tenant.id)
        await conn.execute("DELETE FROM app.warehouses WHERE tenant_id = $1 AND code = 'EAST'", tenant.id)
    item, east = record(bc, "items", "number", "2000"), record(bc, "locations", "code", "EAST")
    bc.put("items", {"inventory": 25.0}, item["id"])
    line = {
        "id": str(uuid.uuid4()), "sequence": 10000, "lineType": "Item", "itemId": item["id"], "quantity": 4.0,
        "unitOfMeasureCode": "PCS", "directUnitCost": 3.5, "receivedQuantity": 0, "locationId": east["id"],
    }  # fmt: skip
    bc.put(
        "purchaseOrders",
        {"number": "106950", "vendorId": record(bc, "vendors", "number", "40000")["id"], "currencyCode": "",
         "requestedReceiptDate": "2026-02-10", "status": "Open", "purchaseOrderLines": [line]},
    )  # fmt: skip

    await run_sync(sync_deps, tenant.id, connector)

    async with owner_pool.acquire() as conn:
        level = await conn.fetchval(
            """SELECT l.on_hand FROM app.stock_levels l JOIN app.products p ON p.id = l.product_id
               WHERE p.tenant_id = $1 AND p.sku = '2000'""",
            tenant.id,
        )
        order = await conn.fetchrow(
            """SELECT s.code AS supplier, w.code AS warehouse FROM app.purchase_orders po
               JOIN app.suppliers s ON s.id = po.supplier_id JOIN app.warehouses w ON w.id = po.warehouse_id
               WHERE po.tenant_id = $1 AND po.number = '106950'""",
            tenant.id,
        )
        dead = await conn.fetch(
            "SELECT error FROM app.integration_dead_letters WHERE tenant_id = $1 AND external_id = ANY($2::text[])",
            tenant.id,
            [item["id"], east["id"], *(o["id"] for o in bc.tables["purchaseOrders"].values())],
        )
    assert (level, order and tuple(order), [r["error"] for r in dead]) == (Decimal(25), ("40000", "EAST"), [])


async def test_deleting_a_row_an_erp_connector_syncs_is_refused_as_in_use(sync_deps, owner_pool, make_tenant, bc):
    tenant, _ = await synced_bc_tenant(sync_deps, owner_pool, make_tenant, bc)
    supplier = await owner_pool.fetchval(
        "SELECT id FROM app.suppliers WHERE tenant_id = $1 AND code = '40000'", tenant.id
    )

    with pytest.raises(ConflictError) as refused:
        await sync_deps.database.run(
            tenant.claims(), None, lambda tx: catalog.delete(tx.conn, catalog.SUPPLIERS, supplier)
        )

    assert (refused.value.code, refused.value.details) == ("in_use", {"used_by": "integration_external_ids"})
