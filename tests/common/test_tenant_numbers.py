"""Purchase order and shipment numbers count per tenant, through row-level security as a request would."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from common.database import TenantTransaction
from inventory import purchasing
from inventory.purchasing_schemas import PurchaseOrderCreate


async def new_order(database, tenant, supplier) -> str:
    async def op(tx: TenantTransaction) -> str:
        return await tx.conn.fetchval(
            "INSERT INTO app.purchase_orders (tenant_id, supplier_id, warehouse_id, currency)"
            " VALUES ($1, $2, $3, 'EUR') RETURNING number",
            tx.tenant_id,
            supplier,
            tenant.warehouses[0],
        )

    return await database.run(tenant.claims(), None, op)


async def new_shipment(database, tenant, tracking: str) -> str:
    async def op(tx: TenantTransaction) -> str:
        return await tx.conn.fetchval(
            "INSERT INTO app.shipments (tenant_id, direction, warehouse_id, carrier, tracking_number)"
            " VALUES ($1, 'outbound', $2, 'DHL', $3) RETURNING number",
            tx.tenant_id,
            tenant.warehouses[0],
            tracking,
        )

    return await database.run(tenant.claims(), None, op)


async def test_each_tenant_numbers_its_orders_and_shipments_from_one(database, make_tenant, owner_pool):
    first, second = await make_tenant(), await make_tenant()
    suppliers = {}
    for tenant in (first, second):
        suppliers[tenant.id] = await owner_pool.fetchval(
            "INSERT INTO app.suppliers (tenant_id, code, name) VALUES ($1, 'S', 'S') RETURNING id", tenant.id
        )
    numbers = [await new_order(database, first, suppliers[first.id]) for _ in range(3)]
    assert numbers == ["PO-000001", "PO-000002", "PO-000003"]
    assert await new_order(database, second, suppliers[second.id]) == "PO-000001"  # nothing of the first's volume
    assert [await new_shipment(database, second, f"T{i}") for i in range(2)] == ["SH-000001", "SH-000002"]
    assert await new_shipment(database, first, "T0") == "SH-000001"


async def test_a_number_an_erp_sync_brought_in_is_skipped_not_given_again(database, make_tenant, owner_pool):
    # Before, the counter gave PO-000002 again: a unique violation (a 500) on every try, the rollback resetting it.
    tenant = await make_tenant()
    supplier = await owner_pool.fetchval(
        "INSERT INTO app.suppliers (tenant_id, code, name) VALUES ($1, 'S', 'S') RETURNING id", tenant.id
    )
    await owner_pool.execute(
        "INSERT INTO app.purchase_orders (tenant_id, number, supplier_id, warehouse_id, currency, origin) "
        "VALUES ($1, 'PO-000002', $2, $3, 'EUR', 'erp:erp')",
        tenant.id, supplier, tenant.warehouses[0],
    )  # fmt: skip
    assert [await new_order(database, tenant, supplier) for _ in range(2)] == ["PO-000001", "PO-000003"]


async def test_a_number_an_erp_sync_takes_while_an_order_is_created_is_skipped_on_a_retry(
    database, make_tenant, owner_pool
):
    # Before, the counter's check could not see a sync page's PO-000001 not yet committed; the user's insert waited
    # on the unique number and then failed: a 500.
    tenant = await make_tenant()
    supplier = await owner_pool.fetchval(
        "INSERT INTO app.suppliers (tenant_id, code, name) VALUES ($1, 'S', 'S') RETURNING id", tenant.id
    )
    body = PurchaseOrderCreate.model_validate(
        {
            "supplier_id": supplier,
            "warehouse_id": tenant.warehouses[0],
            "lines": [{"product_id": tenant.products[0], "quantity": 1, "unit_price": "1"}],
        }
    )
    page_written = asyncio.Event()

    async def sync_page(tx: TenantTransaction) -> None:
        await tx.conn.execute(
            "INSERT INTO app.purchase_orders (tenant_id, number, supplier_id, warehouse_id, currency, origin) "
            "VALUES ($1, 'PO-000001', $2, $3, 'EUR', 'erp:erp')",
            tx.tenant_id, supplier, tenant.warehouses[0],
        )  # fmt: skip
        page_written.set()
        await tx.conn.execute("SELECT pg_sleep(0.5)")  # the page's other records, before it commits

    async def create_once_the_page_is_written() -> dict:
        await page_written.wait()
        return await database.run(
            tenant.claims(),
            None,
            lambda tx: purchasing.create_order(
                tx.conn, tx.tenant_id, tx.user_id, body, default_tolerance_pct=Decimal(0)
            ),
        )

    _, order = await asyncio.gather(database.run(tenant.claims(), None, sync_page), create_once_the_page_is_written())
    assert order["number"] == "PO-000002"
