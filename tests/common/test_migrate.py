"""The migration runner: ordered, recorded, safe under concurrency, strict about edited history."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from common.migrate import (
    BASELINE_VERSION,
    SQUASHED_VERSIONS,
    Migration,
    MigrationError,
    apply_migrations,
    load_migrations,
    missing_versions,
)


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
    assert (migrations[0].version, migrations[0].name) == (BASELINE_VERSION, "baseline")


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


def through_baseline() -> list[Migration]:
    return [m for m in load_migrations() if m.version <= BASELINE_VERSION]


async def write_old_chain_record(conn: asyncpg.Connection, versions: set[int]) -> None:
    """The record as the chain 0001..0161 left it (its names and checksums are never read back)."""
    await conn.execute(
        """CREATE TABLE public.schema_migrations (
               version integer PRIMARY KEY,
               name text NOT NULL,
               checksum text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())"""
    )
    await conn.executemany(
        "INSERT INTO public.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
        [(v, "forecast_runs_started_at" if v == 161 else f"chain_{v:04d}", f"{v:064x}") for v in sorted(versions)],
    )


async def record(conn: asyncpg.Connection) -> list[tuple[object, ...]]:
    return [tuple(r) for r in await conn.fetch("SELECT * FROM public.schema_migrations ORDER BY version")]


async def schema_identity(conn: asyncpg.Connection) -> tuple[object, ...]:
    """The objects of schema app by oid, and the functions' text: anything dropped, recreated or replaced changes it."""
    row = await conn.fetchrow(
        """SELECT (SELECT array_agg(oid ORDER BY oid) FROM pg_class WHERE relnamespace = 'app'::regnamespace),
                  (SELECT array_agg(oid::text || md5(prosrc) ORDER BY oid) FROM pg_proc
                   WHERE pronamespace = 'app'::regnamespace),
                  (SELECT count(*) FROM app.units_of_measure)"""
    )
    assert row is not None
    return tuple(row)


async def test_a_fresh_database_gets_the_baseline_and_one_record_row(scratch_database):
    (baseline,) = through_baseline()
    conn = await asyncpg.connect(scratch_database)
    try:
        assert await missing_versions(conn, [BASELINE_VERSION]) == [BASELINE_VERSION]
        assert await apply_migrations(scratch_database, [baseline]) == [BASELINE_VERSION]
        assert [r[:3] for r in await record(conn)] == [(BASELINE_VERSION, "baseline", baseline.checksum)]
        assert await missing_versions(conn, [BASELINE_VERSION]) == []
        assert await conn.fetchval("SELECT count(*) FROM app.units_of_measure") > 0  # the seed data came with it
    finally:
        await conn.close()


async def test_a_database_at_the_end_of_the_old_chain_is_at_the_baseline_and_keeps_its_schema_and_record(
    scratch_database,
):
    # The record stays the chain's: a release from before the squash (its /readyz, its runner on a rollback) reads it.
    (baseline,) = through_baseline()
    later = Migration(9000, "later", "CREATE TABLE app.later_probe (n integer)")
    conn = await asyncpg.connect(scratch_database)
    try:
        await conn.execute(baseline.sql)  # the schema the chain built (scripts/compare_migration_chains.py)
        await write_old_chain_record(conn, set(SQUASHED_VERSIONS))
        tenant = await conn.fetchval("INSERT INTO app.tenants (name, slug) VALUES ('T', 'old-chain') RETURNING id")
        before = await schema_identity(conn)
        chain_record = await record(conn)
        assert await missing_versions(conn, [BASELINE_VERSION, later.version]) == [later.version]

        assert await apply_migrations(scratch_database, [baseline, later]) == [later.version]

        rows = await record(conn)
        assert rows[:-1] == chain_record
        assert rows[-1][:2] == (later.version, "later")
        assert await missing_versions(conn, sorted(SQUASHED_VERSIONS)) == []
        assert await conn.fetchval("SELECT id FROM app.tenants WHERE slug = 'old-chain'") == tenant
        await conn.execute("DROP TABLE app.later_probe")  # only the later migration touched the schema
        assert await schema_identity(conn) == before
        assert await missing_versions(conn, [BASELINE_VERSION, later.version]) == []
        await conn.execute("CREATE TABLE app.later_probe (n integer)")
        assert await apply_migrations(scratch_database, [baseline, later]) == []
        assert await record(conn) == rows
    finally:
        await conn.close()


async def test_a_database_part_way_through_the_old_chain_is_refused_and_left_as_it_was(scratch_database):
    conn = await asyncpg.connect(scratch_database)
    try:
        await write_old_chain_record(conn, {v for v in SQUASHED_VERSIONS if v <= 150})
        before = await record(conn)
        with pytest.raises(MigrationError, match=r"only up to 0150_chain_0150.*commit 9d2b9db first"):
            await apply_migrations(scratch_database)
        assert await record(conn) == before
        assert await conn.fetchval("SELECT to_regnamespace('app')") is None  # nothing of the baseline ran
        assert await missing_versions(conn, [BASELINE_VERSION]) == [BASELINE_VERSION]
    finally:
        await conn.close()
