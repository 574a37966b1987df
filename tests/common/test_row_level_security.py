"""Tenant isolation enforced by PostgreSQL itself: queries here have no tenant filter at all."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import asyncpg
import pytest

from common.database import Database, TenantTransaction
from tests.common.logistics_rows import LOGISTICS_TABLES, add_logistics_rows
from tests.common.risk_rows import RISK_TABLES, add_risk_rows
from tests.common.tenant_table_rows import (
    CORE_TABLES,
    INTEGRATION_TABLES,
    add_copilot_rows,
    add_core_rows,
    add_integration_rows,
)
from tests.conftest import TenantFixture
from tests.copilot.test_isolation import TABLES as COPILOT_TABLES
from tests.support.rows import insert

TENANT_TABLES = [
    "products",
    "suppliers",
    "warehouses",
    "stock_levels",
    "stock_movements",
    "members",
    "tenants",
    *CORE_TABLES,
    *COPILOT_TABLES,
    *INTEGRATION_TABLES,
    *LOGISTICS_TABLES,
    *RISK_TABLES,
]
# Readable by the tenant's admins only (a planner seeing none: tests/inventory/test_shipments.py).
ADMIN_READ = {"carrier_webhook_keys"}


async def rows_visible(database: Database, claims: dict, table: str) -> list[asyncpg.Record]:
    async def op(tx: TenantTransaction):
        return await tx.conn.fetch(f"SELECT * FROM app.{table}")

    return await database.run(claims, None, op)


async def add_rows_in_every_table(conn: asyncpg.Connection, tenant: TenantFixture, user: uuid.UUID) -> None:
    """As the owner role; copilot threads belong to ``user``, the member who will read them."""
    await insert(conn, "suppliers", tenant_id=tenant.id, code="S1", name="a")
    await add_core_rows(conn, tenant)
    await add_copilot_rows(conn, tenant, user)
    await add_integration_rows(conn, tenant)
    await add_logistics_rows(conn, tenant)
    await add_risk_rows(conn, tenant)


@pytest.mark.parametrize("table", TENANT_TABLES)
async def test_unfiltered_select_returns_only_the_callers_tenant(database, make_tenant, owner_pool, table):
    mine = await make_tenant(stock={0: Decimal(3)})
    theirs = await make_tenant(stock={0: Decimal(4)})
    mine_reader, their_reader = (mine.admin, theirs.admin) if table in ADMIN_READ else (mine.planner, theirs.planner)
    tenant_column = "id" if table == "tenants" else "tenant_id"
    async with owner_pool.acquire() as conn, conn.transaction():
        await add_rows_in_every_table(conn, mine, mine_reader)
        await add_rows_in_every_table(conn, theirs, their_reader)
        theirs_exist = await conn.fetchval(f"SELECT count(*) FROM app.{table} WHERE {tenant_column} = $1", theirs.id)
    assert theirs_exist, f"the other tenant needs {table} rows for the probe to mean anything"
    rows = await rows_visible(database, mine.claims(mine_reader), table)
    assert rows and {r[tenant_column] for r in rows} == {mine.id}


TENANT_TABLES_IN_CATALOG = """
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
       (SELECT count(*) FROM pg_policies p WHERE p.schemaname = 'app' AND p.tablename = c.relname) AS policies,
       has_table_privilege('authenticated', c.oid, 'SELECT, INSERT, UPDATE, DELETE') AS reachable
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'app' AND c.relkind IN ('r', 'p')
  AND (c.relname = 'tenants' OR EXISTS (
      SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped))
"""


async def test_every_table_with_tenant_rows_is_guarded_by_row_level_security(owner_pool):
    """Forced, with a policy, where requests may reach the table; where they hold no privilege at all (a table
    only a SECURITY DEFINER function touches), enabled with no policy, which denies every row."""
    async with owner_pool.acquire() as conn:
        tables = await conn.fetch(TENANT_TABLES_IN_CATALOG)
    unguarded = [
        t["relname"]
        for t in tables
        if not t["relrowsecurity"] or (t["reachable"] and not (t["relforcerowsecurity"] and t["policies"]))
    ]
    assert tables and not unguarded, f"tenant tables that requests reach without forced RLS and a policy: {unguarded}"


async def test_the_isolation_probe_covers_every_tenant_table_requests_can_reach(owner_pool):
    async with owner_pool.acquire() as conn:
        in_catalog = {t["relname"] for t in await conn.fetch(TENANT_TABLES_IN_CATALOG) if t["reachable"]}
    missing = sorted(in_catalog - set(TENANT_TABLES))
    assert not missing, f"add these tables to TENANT_TABLES (and rows for both tenants): {missing}"


@asynccontextmanager
async def request_role(database_url: str, settings: dict[str, str] | None = None) -> AsyncIterator[asyncpg.Connection]:
    """A connection of its own in a transaction as the request role, after ``settings`` were made by hand (no API
    in between)."""
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            for name, value in (settings or {}).items():
                await conn.execute("SELECT set_config($1, $2, true)", name, value)
            await conn.execute("SET LOCAL ROLE authenticated")
            yield conn
    finally:
        await conn.close()


async def test_request_role_without_claims_sees_nothing(database_url, make_tenant):
    await make_tenant(stock={0: Decimal(1)})
    async with request_role(database_url) as conn:
        assert await conn.fetchval("SELECT count(*) FROM app.products") == 0
        assert await conn.fetchval("SELECT count(*) FROM app.stock_levels") == 0


async def test_a_forged_tenant_setting_does_not_grant_access_without_membership(database_url, make_tenant):
    mine = await make_tenant()
    theirs = await make_tenant()
    # Claims of a member of `mine`, with the tenant switched to `theirs` behind the API's back.
    forged = {"request.jwt.claims": json.dumps(mine.claims()), "app.tenant_id": str(theirs.id)}
    async with request_role(database_url, forged) as conn:
        assert await conn.fetchval("SELECT count(*) FROM app.products") == 0


async def test_insert_into_another_tenant_is_refused(database, make_tenant):
    mine = await make_tenant()
    theirs = await make_tenant()

    async def op(tx: TenantTransaction):
        await tx.conn.execute(
            "INSERT INTO app.products (tenant_id, sku, name) VALUES ($1, 'X-1', 'smuggled')", theirs.id
        )

    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        await database.run(mine.claims(), None, op)


async def test_viewer_cannot_write_even_bypassing_the_api(database, make_tenant):
    tenant = await make_tenant()

    async def op(tx: TenantTransaction):
        await tx.conn.execute("INSERT INTO app.products (tenant_id, sku, name) VALUES ($1, 'V-1', 'v')", tenant.id)

    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await database.run(tenant.claims(tenant.viewer), None, op)


async def test_update_of_another_tenants_row_changes_nothing(database, make_tenant, owner_pool):
    mine = await make_tenant()
    theirs = await make_tenant()

    async def op(tx: TenantTransaction):
        return await tx.conn.execute("UPDATE app.products SET name = 'hijacked' WHERE id = $1", theirs.products[0])

    assert await database.run(mine.claims(), None, op) == "UPDATE 0"
    async with owner_pool.acquire() as conn:
        assert await conn.fetchval("SELECT name FROM app.products WHERE id = $1", theirs.products[0]) == "Product 0"


async def test_non_member_gets_permission_denied_before_any_query(database, make_tenant):
    import uuid

    from common.errors import PermissionDeniedError

    await make_tenant()
    stranger = {"sub": str(uuid.uuid4()), "role": "authenticated"}

    async def op(tx: TenantTransaction):
        raise AssertionError("must not run")

    with pytest.raises(PermissionDeniedError):
        await database.run(stranger, None, op)
