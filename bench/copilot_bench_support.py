"""Shared set-up for the copilot benches: a migrated database and a fresh tenant with one planner."""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from pathlib import Path

import asyncpg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from common.config import Settings  # noqa: E402
from deployments.local_stack import ensure_database, migrate  # noqa: E402
from tests.support.tenant_rows import add_tenant_with_member  # noqa: E402


def database_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", help="PostgreSQL to use (default: an embedded server in --data-dir)")
    parser.add_argument("--data-dir", type=Path, default=REPO / ".chainsight" / "bench-pgdata")


def prepare_database(args: argparse.Namespace) -> str:
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    settings = Settings(_env_file=None, embedded_postgres_dir=args.data_dir)  # type: ignore[call-arg]
    url = ensure_database(settings)
    migrate(url)
    return url


async def new_tenant(url: str) -> tuple[uuid.UUID, dict[str, str]]:
    """A tenant of its own (so reruns never mix corpora) and the claims of its planner."""
    conn = await asyncpg.connect(url)
    try:
        tenant, planner = await add_tenant_with_member(conn, "Bench")
    finally:
        await conn.close()
    return tenant, {"sub": str(planner), "role": "authenticated"}
