"""ERP syncs as Ray tasks: a thin wrapper that opens a pool in the worker and runs the sync engine.

The API queues a run and submits ``sync_task``; the CLI runs the same coroutine in-process (or on the
cluster with ``--on-ray``). Nothing here runs at import time.
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any
from uuid import UUID

from common.config import get_settings
from common.database import Database, create_pool
from integrations.sync import SyncDeps, run_sync


async def run_sync_job(tenant_id: str, connector_id: str, run_id: str | None = None, trigger: str = "cli") -> dict:
    settings = get_settings()
    pool = await create_pool(settings)
    try:
        deps = SyncDeps.from_settings(settings, Database(pool))
        return await run_sync(
            deps, UUID(tenant_id), UUID(connector_id), run_id=UUID(run_id) if run_id else None, trigger=trigger
        )
    finally:
        await pool.close()


def _run_in_worker(tenant_id: str, connector_id: str, run_id: str | None, trigger: str) -> dict:
    return asyncio.run(run_sync_job(tenant_id, connector_id, run_id, trigger))


@cache
def sync_task() -> Any:
    """The Ray remote function (built on first use, so importing this module needs no cluster)."""
    import ray

    return ray.remote(num_cpus=0.5, max_retries=0)(_run_in_worker)


def submit_sync(tenant_id: UUID, connector_id: UUID, run_id: UUID, trigger: str = "api") -> Any:
    """Submit a queued run to the Ray cluster this process is connected to; returns the ObjectRef."""
    import ray

    if not ray.is_initialized():
        raise RuntimeError("this process is not connected to a Ray cluster")
    return (
        sync_task()
        .options(name=f"erp-sync-{connector_id}")
        .remote(str(tenant_id), str(connector_id), str(run_id), trigger)
    )
