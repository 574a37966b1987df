"""Catalogue rows under row-level security: what the database itself refuses, and what it keeps."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import asyncpg
import pytest

from common.database import TenantTransaction
from common.errors import ConflictError, InvalidInputError
from inventory import catalog, purchasing, uom
from inventory.catalog_schemas import ProductUpdate, WarehouseCreate
from inventory.purchasing_schemas import PurchaseOrderCreate
from inventory.stock import LedgerEntry, insert_movement
from tests.support.rows import insert


async def test_a_warehouse_keeps_its_time_zone_and_defaults_to_utc(database, make_tenant):
    tenant = await make_tenant()

    async def create_two(tx: TenantTransaction):
        west = await catalog.create(
            tx.conn,
            catalog.WAREHOUSES,
            tx.tenant_id,
            WarehouseCreate(code="LAX-1", name="LA", timezone="America/Los_Angeles"),
        )
        plain = await catalog.create(tx.conn, catalog.WAREHOUSES, tx.tenant_id, WarehouseCreate(code="X-1", name="X"))
        return west, plain

    west, plain = await database.run(tenant.claims(), None, create_two)
    assert (west["timezone"], plain["timezone"]) == ("America/Los_Angeles", None)


async def test_a_time_zone_the_database_cannot_convert_to_is_a_400_and_stores_nothing(database, make_tenant):
    tenant = await make_tenant()
    # As if Python's tz database knew a name PostgreSQL's lacks: the API's own check is passed.
    unknown = WarehouseCreate.model_construct(
        code="MARS-1", name="Olympus", country=None, city=None, timezone="Mars/Olympus", active=True
    )

    async def create(tx: TenantTransaction):
        return await catalog.create(tx.conn, catalog.WAREHOUSES, tx.tenant_id, unknown)

    with pytest.raises(InvalidInputError, match="'Mars/Olympus' is not in the database's time zone list"):
        await database.run(tenant.claims(), None, create)
    codes = await database.run(
        tenant.claims(), None, lambda tx: tx.conn.fetchval("SELECT count(*) FROM app.warehouses WHERE code = 'MARS-1'")
    )
    assert codes == 0


async def test_sql_cannot_store_a_time_zone_that_would_break_the_tenants_forecasts(make_tenant, owner_pool):
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        with pytest.raises(asyncpg.CheckViolationError, match="warehouses_timezone_known"):
            await conn.execute(
                "UPDATE app.warehouses SET timezone = 'Mars/Olympus' WHERE id = $1", tenant.warehouses[0]
            )


async def test_a_unit_change_waits_for_an_order_line_that_read_the_unit_and_then_is_refused(
    database, owner_pool, make_tenant, monkeypatch
):
    # Before, the line read "each" without a lock, the change committed before the line was written, and a kg
    # product carried a line of 100 each at factor 1: received as 100 kg.
    tenant = await make_tenant()
    product = tenant.products[1]
    async with owner_pool.acquire() as conn:
        supplier = await insert(conn, "suppliers", tenant_id=tenant.id, code="SUP-1", name="Supplier")
    read_unit = uom.conversion_factor
    unit_read = asyncio.Event()

    async def slow_conversion_factor(conn, product_id, unit):
        found = await read_unit(conn, product_id, unit)
        unit_read.set()
        await asyncio.sleep(0.5)  # the request's next round trips before the line is written
        return found

    monkeypatch.setattr(purchasing, "conversion_factor", slow_conversion_factor)
    body = PurchaseOrderCreate.model_validate(
        {
            "supplier_id": supplier,
            "warehouse_id": tenant.warehouses[0],
            "lines": [{"product_id": product, "quantity": 100, "unit_price": "1"}],
        }
    )

    async def draft(tx: TenantTransaction) -> dict:
        return await purchasing.create_order(tx.conn, tx.tenant_id, tx.user_id, body, default_tolerance_pct=Decimal(0))

    async def change_unit_once_read() -> dict:
        await unit_read.wait()
        return await database.run(
            tenant.claims(),
            None,
            lambda tx: catalog.update(tx.conn, catalog.PRODUCTS, product, ProductUpdate(unit_of_measure="kg")),
        )

    order, change = await asyncio.gather(
        database.run(tenant.claims(), None, draft), change_unit_once_read(), return_exceptions=True
    )
    assert isinstance(change, ConflictError) and change.code == "unit_in_use", change
    assert [line["uom"] for line in order["lines"]] == ["each"]


async def test_a_unit_change_waits_for_a_first_receipt_in_flight_and_then_is_refused(database, make_tenant):
    # Before, the change saw no stock while the receipt had not committed, and the receipt's 100 each became 100 kg.
    tenant = await make_tenant()
    product = tenant.products[1]
    receipt = LedgerEntry(product_id=product, warehouse_id=tenant.warehouses[0], movement_type="receipt",
                          quantity=Decimal(100))  # fmt: skip

    async def change_unit(tx: TenantTransaction) -> dict:
        return await catalog.update(tx.conn, catalog.PRODUCTS, product, ProductUpdate(unit_of_measure="kg"))

    async with database.tenant_transaction(tenant.claims(), None) as tx:
        await insert_movement(tx.conn, tx.tenant_id, receipt)
        change = asyncio.create_task(database.run(tenant.claims(), None, change_unit))
        await asyncio.sleep(0.5)
        assert not change.done()
    with pytest.raises(ConflictError) as refused:
        await change
    assert refused.value.code == "unit_in_use"
