"""The migration runner: ordered, recorded, safe under concurrency, strict about edited history."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from common.migrate import Migration, MigrationError, apply_migrations, load_migrations


@pytest.fixture
async def scratch_database(database_url: str) -> AsyncIterator[str]:
    """An empty database on the same server, dropped afterwards."""
    name = f"scratch_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    scratch_url = database_url.replace("/postgres?", f"/{name}?")
    try:
        yield scratch_url
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


def counting_migrations() -> list[Migration]:
    return [
        Migration(1, "create", "CREATE TABLE counter (n integer NOT NULL)"),
        # Not idempotent on purpose: applying it twice would leave two rows.
        Migration(2, "insert", "INSERT INTO counter VALUES (1)"),
    ]


async def test_shipped_migrations_are_numbered_and_parse():
    migrations = load_migrations()
    assert [m.version for m in migrations] == sorted({m.version for m in migrations})
    assert migrations[0].version == 1


async def test_concurrent_runners_apply_each_migration_once(scratch_database):
    results = await asyncio.gather(*(apply_migrations(scratch_database, counting_migrations()) for _ in range(5)))
    assert sorted(v for applied in results for v in applied) == [1, 2]
    conn = await asyncpg.connect(scratch_database)
    try:
        assert await conn.fetchval("SELECT count(*) FROM counter") == 1
    finally:
        await conn.close()


async def test_rerun_applies_nothing(scratch_database):
    await apply_migrations(scratch_database, counting_migrations())
    assert await apply_migrations(scratch_database, counting_migrations()) == []


async def test_an_edited_applied_migration_is_refused(scratch_database):
    await apply_migrations(scratch_database, counting_migrations())
    edited = [counting_migrations()[0], Migration(2, "insert", "INSERT INTO counter VALUES (2)")]
    with pytest.raises(MigrationError, match="changed after it was applied"):
        await apply_migrations(scratch_database, edited)


async def test_a_failing_migration_leaves_no_trace_and_can_be_fixed(scratch_database):
    broken = [*counting_migrations(), Migration(3, "broken", "ALTER TABLE missing ADD COLUMN x int")]
    with pytest.raises(asyncpg.UndefinedTableError):
        await apply_migrations(scratch_database, broken)
    fixed = [*counting_migrations(), Migration(3, "fixed", "ALTER TABLE counter ADD COLUMN x int")]
    assert await apply_migrations(scratch_database, fixed) == [3]


async def test_the_zone_migration_reads_a_stored_utc_as_not_given_and_keeps_a_named_zone(scratch_database):
    # 0120 on a database with rows (warehouses force row-level security; the runner must still see them all).
    shipped = load_migrations()
    await apply_migrations(scratch_database, [m for m in shipped if m.version < 120])
    conn = await asyncpg.connect(scratch_database)
    try:
        tenant = await conn.fetchval("INSERT INTO app.tenants (name, slug) VALUES ('T', 'zones') RETURNING id")
        await conn.execute("INSERT INTO app.warehouses (tenant_id, code, name) VALUES ($1, 'A', 'A')", tenant)
        await conn.execute(
            "INSERT INTO app.warehouses (tenant_id, code, name, timezone) VALUES ($1, 'B', 'B', 'Asia/Tokyo')", tenant
        )
        assert await apply_migrations(scratch_database, shipped) == [m.version for m in shipped if m.version >= 120]
        zones = await conn.fetch("SELECT code, timezone FROM app.warehouses ORDER BY code")
        assert [tuple(z) for z in zones] == [("A", None), ("B", "Asia/Tokyo")]
    finally:
        await conn.close()


async def test_odoo_and_business_central_order_cursors_are_cleared_once_and_the_others_kept(scratch_database):
    # Their order lines were synced at the price before the line's discount until 2026-12-07; the incremental syncs
    # never read an untouched order again, so the migration sends their next order sync back to the start.
    shipped = load_migrations()
    (reread,) = [m for m in shipped if m.name == "erp_orders_read_again_at_net_prices"]
    await apply_migrations(scratch_database, [m for m in shipped if m.version < reread.version])
    conn = await asyncpg.connect(scratch_database)
    try:
        tenant = await conn.fetchval("INSERT INTO app.tenants (name, slug) VALUES ('T', 'reread') RETURNING id")
        for kind in ("odoo", "dynamics", "sap", "netsuite"):
            connector = await conn.fetchval(
                """INSERT INTO app.integration_connectors
                       (tenant_id, name, kind, base_url, credentials, entities, acting_user_id)
                   VALUES ($1, $2, $2, 'https://erp.example', $3, '{purchase_orders,products}', $4)
                   RETURNING id""",
                tenant,
                kind,
                b"sealed",
                uuid.uuid4(),
            )
            await conn.executemany(
                """INSERT INTO app.integration_sync_state (tenant_id, connector_id, entity, cursor)
                   VALUES ($1, $2, $3, $4)""",
                [(tenant, connector, entity, '{"write_date": "2026-11-30 10:00:00"}')
                 for entity in ("purchase_orders", "products")],
            )  # fmt: skip
        applied = await apply_migrations(scratch_database, shipped)
        assert applied == [m.version for m in shipped if m.version >= reread.version]
        cursors = await conn.fetch(
            """SELECT c.kind, s.entity, s.cursor IS NOT NULL AS kept FROM app.integration_sync_state s
               JOIN app.integration_connectors c ON c.id = s.connector_id ORDER BY c.kind, s.entity"""
        )
        assert [tuple(c) for c in cursors] == [
            ("dynamics", "products", True), ("dynamics", "purchase_orders", False),
            ("netsuite", "products", True), ("netsuite", "purchase_orders", True),
            ("odoo", "products", True), ("odoo", "purchase_orders", False),
            ("sap", "products", True), ("sap", "purchase_orders", True),
        ]  # fmt: skip
    finally:
        await conn.close()


@pytest.mark.parametrize(
    "change",
    [
        "DELETE FROM public.schema_migrations",
        "UPDATE public.schema_migrations SET checksum = 'x'",
        "INSERT INTO public.schema_migrations (version, name, checksum) VALUES (999, 'junk', 'x')",
        "TRUNCATE public.schema_migrations",
    ],
)
async def test_a_role_granted_all_new_tables_cannot_change_the_migration_record(scratch_database, change):
    # Supabase's default privileges in `public` grant anon and authenticated everything on each new table; a
    # deleted record turned every replica's /readyz to migrations_pending and made the next migrate re-run it.
    role = f"defaults_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(scratch_database)
    try:
        await conn.execute(f"CREATE ROLE {role} NOLOGIN")
        await conn.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        await conn.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO {role}")
        await apply_migrations(scratch_database, counting_migrations())
        try:
            async with conn.transaction():
                await conn.execute(f"SET LOCAL ROLE {role}")
                await conn.execute(change)
        except asyncpg.InsufficientPrivilegeError:
            pass  # refused outright; a DELETE or UPDATE that row-level security lets see no row is as good
        records = await conn.fetch("SELECT version, checksum FROM public.schema_migrations ORDER BY version")
        expected = [(m.version, m.checksum) for m in counting_migrations()]
        assert [(r["version"], r["checksum"]) for r in records] == expected
    finally:
        await conn.execute(f"DROP OWNED BY {role}")
        await conn.execute(f"DROP ROLE {role}")
        await conn.close()
