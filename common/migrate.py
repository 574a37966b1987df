"""A small versioned-SQL migration runner.

Migrations are ``NNNN_name.sql`` files applied in order, each in its own transaction, recorded with a
checksum. A PostgreSQL advisory lock serialises runners, so two processes starting together never
apply the same file twice; an edited, already-applied file is refused rather than silently skipped.

The chain 0001..0161 (commit 9d2b9db) is squashed into one baseline, ``0161_baseline.sql``. A fresh database gets
the baseline; one that applied the whole old chain is at the baseline already and keeps its record as it is (a
release from before the squash still reads it); one that applied part of it is refused (the baseline cannot finish a
chain half-way).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import asyncpg

from common.errors import DomainError

# Any fixed 64-bit value works; it only has to be the same in every runner.
MIGRATION_LOCK_KEY = 0x43484149_4E534947  # "CHAINSIG"
_FILENAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

BASELINE_VERSION = 161
BASELINE_NAME = "baseline"
# The versions of the chain the baseline replaces (commit 9d2b9db): a database whose record holds all of them
# has the baseline's schema (scripts/compare_migration_chains.py proves the two build the same database).
SQUASHED_VERSIONS = frozenset({
    1, 2, 10, 11, 12, 20, 30, 40, 50, 60, 70, 80, 90, 91, 92, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120,
    121, 122, 123, 124, 125, 126, 127, 128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142,
    143, 144, 145, 146, 147, 148, 149, 150, 151, 152, 153, 154, 155, 156, 157, 158, 159, 160, 161,
})  # fmt: skip
SQUASHED_CHAIN_COMMIT = "9d2b9db"


# The record decides what runs next and what /readyz reports, so only its owner (the runner) may touch it. On
# Supabase, default privileges in `public` grant anon and authenticated everything on each new table, reachable with
# the public anon key: row-level security without policies hides the rows from them and refuses their inserts, and
# the grants themselves go (REVOKE ... FROM PUBLIC leaves a named role's own grant, and RLS does not stop TRUNCATE).
_OWNER_ONLY_RECORD = """
ALTER TABLE public.schema_migrations ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON public.schema_migrations FROM PUBLIC;
DO $$
DECLARE
    grantee regrole;
BEGIN
    FOR grantee IN
        SELECT DISTINCT acl.grantee::regrole
        FROM pg_class, aclexplode(pg_class.relacl) AS acl
        WHERE pg_class.oid = 'public.schema_migrations'::regclass
          AND acl.grantee NOT IN (0, pg_class.relowner)
    LOOP
        EXECUTE format('REVOKE ALL ON public.schema_migrations FROM %s', grantee);
    END LOOP;
END
$$;
"""


class MigrationError(DomainError):
    """The migration files disagree with themselves or with what the database has applied."""

    code = "invalid_migration"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(directory: Path | None = None) -> list[Migration]:
    folder = directory or Path(str(resources.files("common") / "migrations"))
    found: list[Migration] = []
    for path in sorted(folder.iterdir()):
        match = _FILENAME.match(path.name)
        if match is None:
            if path.suffix == ".sql":
                raise MigrationError(f"migration file {path.name!r} does not match NNNN_name.sql")
            continue
        found.append(Migration(int(match.group(1)), match.group(2), path.read_text()))
    versions = [m.version for m in found]
    if len(versions) != len(set(versions)):
        raise MigrationError(f"duplicate migration versions in {folder}")
    return found


async def missing_versions(conn: asyncpg.Connection, expected: list[int]) -> list[int]:
    """The versions of ``expected`` this database has not applied (all of them before the first migration)."""
    try:
        applied = await conn.fetchval("SELECT array_agg(version) FROM public.schema_migrations")
    except asyncpg.UndefinedTableError:
        return sorted(expected)
    return sorted(set(expected) - set(applied or []))


async def _at_baseline_by_the_old_chain(conn: asyncpg.Connection, baseline: Migration) -> bool:
    """Whether this database applied the whole old chain the baseline replaces (so it is at the baseline); refuse a
    database part-way through it.

    The chain's record rows are kept as they are: a release from before the squash still reads them (its /readyz
    expects every version of the chain, and its runner on a rollback would otherwise start again at 0001).
    """
    rows = await conn.fetch("SELECT version, name FROM public.schema_migrations WHERE version <= $1", BASELINE_VERSION)
    names = {row["version"]: row["name"] for row in rows}
    if not names or names.get(BASELINE_VERSION) == BASELINE_NAME:
        return False
    if not names.keys() >= SQUASHED_VERSIONS:
        raise MigrationError(
            f"this database applied the migrations only up to {max(names):04d}_{names[max(names)]}, part of the "
            f"chain that {baseline.version:04d}_{baseline.name} replaces: upgrade with a release up to commit "
            f"{SQUASHED_CHAIN_COMMIT} first (it applies the rest of the chain), then rerun"
        )
    return True


async def apply_migrations(dsn: str, migrations: list[Migration] | None = None) -> list[int]:
    """Apply pending migrations; returns the versions applied by this call."""
    pending = migrations if migrations is not None else load_migrations()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        try:
            await conn.execute(
                """CREATE TABLE IF NOT EXISTS public.schema_migrations (
                       version integer PRIMARY KEY,
                       name text NOT NULL,
                       checksum text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            await conn.execute(_OWNER_ONLY_RECORD)
            chain_applied = False
            for migration in pending:
                if migration.version == BASELINE_VERSION and migration.name == BASELINE_NAME:
                    chain_applied = await _at_baseline_by_the_old_chain(conn, migration)
            rows = await conn.fetch("SELECT version, checksum FROM public.schema_migrations")
            applied = {row["version"]: row["checksum"] for row in rows}
            done: list[int] = []
            for migration in pending:
                if chain_applied and migration.version == BASELINE_VERSION and migration.name == BASELINE_NAME:
                    continue  # row 161 is the old chain's last file, with its own checksum
                recorded = applied.get(migration.version)
                if recorded is not None:
                    if recorded != migration.checksum:
                        raise MigrationError(
                            f"migration {migration.version:04d}_{migration.name} changed after it was "
                            "applied; add a new migration instead of editing an applied one"
                        )
                    continue
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO public.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                        migration.version,
                        migration.name,
                        migration.checksum,
                    )
                done.append(migration.version)
            return done
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
    finally:
        await conn.close()
