"""Real embeddings (all-MiniLM-L6-v2 from its package, offline) and helpers to store documents per tenant."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime

import pytest

from common.database import Database, TenantTransaction
from copilot import documents
from copilot.embeddings import Embedder

Upload = Callable[..., Awaitable[dict]]


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture(scope="session")
def upload(database: Database, embedder: Embedder) -> Upload:
    async def store(tenant, filename: str, text: str | bytes, user=None) -> dict:
        data = text.encode() if isinstance(text, str) else text
        prepared = documents.prepare(filename, data, embedder, max_bytes=1_000_000)

        async def op(tx: TenantTransaction) -> dict:
            return await documents.store(tx.conn, tx.tenant_id, tx.user_id, prepared)

        return await database.run(tenant.claims(user), None, op)

    return store


@pytest.fixture
async def today() -> date:
    """What the live-data tools and suggestions count days from for a member without a profile time zone."""
    return datetime.now(UTC).date()


def as_user(database: Database, tenant, user=None):
    """Run ``operation(tx)`` as ``user`` (the planner by default) of ``tenant``."""

    async def run(operation):
        return await database.run(tenant.claims(user), None, operation)

    return run
