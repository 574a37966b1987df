"""Catalogue rows under row-level security: what the database itself refuses, and what it keeps."""

from __future__ import annotations

import asyncpg
import pytest

from common.database import TenantTransaction
from common.errors import InvalidInputError
from inventory import catalog
from inventory.catalog_schemas import WarehouseCreate


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
