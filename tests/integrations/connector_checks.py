"""What the tests of every ERP connector check and do alike, each against that connector's own fake."""

from __future__ import annotations

import time
import uuid
from typing import Any

import asyncpg

from integrations.sync import SyncDeps, run_sync
from tests.integrations.conftest import dozens_and_grams, failed_run, push_draft, snapshot
from tests.support.fakes.base import FakeServer


async def retried_after_the_retry_after_delay(
    sync_deps: SyncDeps, tenant: Any, connector: uuid.UUID, fake: FakeServer
) -> None:
    """One 429 asking for a second's wait: the sync waits that long and then completes."""
    fake.throttle(1, retry_after=1)
    started = time.monotonic()
    run = await run_sync(sync_deps, tenant.id, connector)
    assert time.monotonic() - started >= 1.0
    assert run["status"] == "completed_with_errors" and run["error"] is None


async def failed_past_the_retry_budget(
    sync_deps: SyncDeps, owner_pool: asyncpg.Pool, tenant: Any, connector: uuid.UUID, fake: FakeServer, first: str
) -> None:
    """A 429 on every attempt: the run fails naming it, and nothing of ``first`` (pulled first) is written."""
    fake.throttle(3, retry_after=0)
    assert "HTTP 429" in await failed_run(sync_deps, tenant, connector)
    assert (await snapshot(owner_pool, tenant.id))[first] == []


async def pushed_in_dozens_and_grams(
    sync_deps: SyncDeps, tenant: Any, connector: uuid.UUID, supplier: str, warehouse: str, each_sku: str, kg_sku: str
) -> tuple[dict, dict]:
    """After a first sync, a draft order to ``supplier`` expected 2026-03-02 with ``dozens_and_grams`` lines,
    pushed through the connector; returns (the order, the push's answer)."""
    await run_sync(sync_deps, tenant.id, connector)
    lines = dozens_and_grams(each_sku, kg_sku)
    return await push_draft(sync_deps, tenant, connector, supplier, warehouse, lines, expected_date="2026-03-02")
