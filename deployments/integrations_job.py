"""ERP syncs as Ray tasks: a thin wrapper that opens a pool in the worker and runs the sync engine.

The API queues a run and submits ``sync_task``; the CLI runs the same coroutine in-process (or on the
cluster with ``--on-ray``). Scheduled syncs: ``python -m deployments.jobs integrations-sync --due`` (the
RayCronJob cluster/base/integrations-due-sync.yaml, ``chainsight sync-due``, and the background loop of
``chainsight up``) claims the due connectors and runs each claimed run as a ``sync_task``, then prints a
JSON summary. Nothing here runs at import time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import threading
import time
from functools import cache
from typing import Any
from uuid import UUID

import asyncpg

from common.config import Settings, get_settings
from common.database import job_database
from common.errors import describe
from deployments.periodic import PeriodicLoop
from integrations.schedule import SCHEDULE_TRIGGER, DueSync, claim_due_syncs, fail_unstarted_run, keep_claims
from integrations.sync import SyncDeps, run_sync

logger = logging.getLogger(__name__)
# How often a job stamps the claims still waiting for a worker: well inside the 15 minutes after which one is abandoned.
CLAIM_STAMP_S = 60.0


async def run_sync_job(tenant_id: str, connector_id: str, run_id: str | None = None, trigger: str = "cli") -> dict:
    settings = get_settings()
    async with job_database(settings) as database:
        deps = SyncDeps.from_settings(settings, database)
        try:
            return await run_sync(
                deps, UUID(tenant_id), UUID(connector_id), run_id=UUID(run_id) if run_id else None, trigger=trigger
            )
        except Exception as exc:
            # A queued run this job could not even start (connector gone or disabled, acting member no
            # longer a writer) must not block the next sync until it counts as abandoned.
            if run_id is not None:
                await _fail_unstarted(deps, UUID(tenant_id), UUID(connector_id), UUID(run_id), exc)
            raise


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


async def _fail_unstarted(deps: SyncDeps, tenant_id: UUID, connector_id: UUID, run_id: UUID, exc: Exception) -> None:
    try:
        await fail_unstarted_run(deps, tenant_id, connector_id, run_id, f"the sync job could not start: {exc}")
    except Exception:  # the database is unreachable (a run whose connector is gone went with it)
        logger.exception("could not mark ERP sync run %s failed", run_id)


async def claim_due(settings: Settings, *, tenant_id: UUID | None = None, limit: int = 100) -> list[DueSync]:
    async with job_database(settings) as database, database.connection() as conn:
        return await claim_due_syncs(conn, tenant_id=tenant_id, limit=limit)


async def _keep_claims(settings: Settings, run_ids: list[UUID]) -> None:
    try:
        conn = await asyncpg.connect(settings.database_url)
        try:
            await keep_claims(conn, run_ids)
        finally:
            await conn.close()
    except (OSError, asyncpg.PostgresError) as exc:  # the next stamp tries again; the syncs go on meanwhile
        logger.warning("could not stamp the waiting ERP sync claims: %s", exc)


async def _fail_claims(settings: Settings, failures: list[tuple[DueSync, Exception]]) -> None:
    async with job_database(settings) as database:
        deps = SyncDeps.from_settings(settings, database)
        for due, exc in failures:
            await _fail_unstarted(deps, due.tenant_id, due.connector_id, due.run_id, exc)


def run_due_syncs(
    settings: Settings,
    *,
    tenant_id: UUID | None = None,
    limit: int = 100,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """Claim the due connectors and run each claimed sync as a Ray task; returns a summary of the runs.

    Needs a connected Ray driver (``ray.init`` done). Waits for the tasks unless ``stop`` is set first
    (then the runs it left carry on in the cluster and the summary reports them as ``running``).
    """
    import ray

    if not ray.is_initialized():  # before claiming: a claim nobody can run would wait 15 minutes to expire
        raise RuntimeError("this process is not connected to a Ray cluster")
    claimed = asyncio.run(claim_due(settings, tenant_id=tenant_id, limit=limit))
    refs: dict[Any, DueSync] = {}
    outcomes: dict[UUID, dict[str, Any]] = {}
    not_submitted: list[tuple[DueSync, Exception]] = []
    for due in claimed:
        try:
            ref = (
                sync_task()
                .options(name=f"erp-sync-{due.connector_id}")
                .remote(str(due.tenant_id), str(due.connector_id), str(due.run_id), SCHEDULE_TRIGGER)
            )
        except Exception as exc:
            logger.exception("could not submit scheduled ERP sync %s", due.run_id)
            not_submitted.append((due, exc))
            outcomes[due.run_id] = {"status": "failed", "error": f"could not start the sync job: {exc}"}
            continue
        refs[ref] = due
    if not_submitted:
        asyncio.run(_fail_claims(settings, not_submitted))
    pending = list(refs)
    stamped = time.monotonic()
    while pending and not (stop is not None and stop.is_set()):
        if time.monotonic() - stamped >= CLAIM_STAMP_S:  # claims waiting for a worker are not abandoned
            asyncio.run(_keep_claims(settings, [refs[ref].run_id for ref in pending]))
            stamped = time.monotonic()
        ready, pending = ray.wait(pending, num_returns=1, timeout=1.0)
        for ref in ready:
            due = refs[ref]
            try:
                run = ray.get(ref)
                outcomes[due.run_id] = {"status": run["status"], "error": run["error"], "counts": run["counts"]}
            except Exception as exc:  # the task itself broke; run_sync_job already failed an unstarted run
                logger.warning("scheduled ERP sync %s raised: %s", due.run_id, exc)
                outcomes[due.run_id] = {"status": "failed", "error": describe(exc)}
    runs = [
        {
            "tenant_id": str(due.tenant_id),
            "connector_id": str(due.connector_id),
            "connector": due.connector_name,
            "run_id": str(due.run_id),
            **outcomes.get(due.run_id, {"status": "running", "error": None}),
        }
        for due in claimed
    ]
    by_status: dict[str, int] = {}
    for run in runs:
        by_status[run["status"]] = by_status.get(run["status"], 0) + 1
    return {"claimed": len(claimed), "by_status": by_status, "runs": runs}


class DueSyncLoop(PeriodicLoop):
    """Runs ``run_due_syncs`` every ``every_s`` seconds in a daemon thread (``chainsight up``'s scheduler).

    ``stop`` ends the loop after the current check; syncs already submitted carry on in Ray.
    """

    def __init__(self, settings: Settings, every_s: float = 60.0, *, tenant_id: UUID | None = None) -> None:
        super().__init__(every_s, name="erp-due-syncs")
        self.settings = settings
        self.tenant_id = tenant_id

    def run_round(self, stop: threading.Event) -> None:
        try:
            self.last_summary = run_due_syncs(self.settings, tenant_id=self.tenant_id, stop=stop)
            if self.last_summary["claimed"]:
                logger.info("scheduled ERP syncs: %s", json.dumps(self.last_summary["by_status"]))
        except Exception:  # a database or cluster hiccup must not end the schedule
            logger.exception("the scheduled ERP sync check failed; trying again in %.0f s", self.every_s)


def failed_syncs(summary: dict[str, Any]) -> int:
    """How many of the syncs a due run claimed failed (a run still going when it stopped early is no failure)."""
    return int(summary.get("by_status", {}).get("failed", 0))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m deployments.jobs integrations-sync", description=__doc__)
    parser.add_argument("--due", action="store_true", required=True, help="run every due scheduled sync")
    parser.add_argument("--tenant", type=UUID, help="only this tenant's connectors")
    parser.add_argument("--limit", type=int, default=100, help="claim at most this many connectors (default 100)")
    args = parser.parse_args(argv)
    if args.limit < 1:
        parser.error("--limit must be at least 1")
    from common.ray_connection import connect_ray

    settings = get_settings()
    # RAY_ADDRESS (set by KubeRay on a RayJob's head) or settings.ray_address; else the machine's local cluster.
    connect_ray(settings=settings)
    summary = run_due_syncs(settings, tenant_id=args.tenant, limit=args.limit)
    print(json.dumps(summary))
    if failed_syncs(summary):  # the RayJob (and its CronJob) then report the failure
        raise SystemExit(f"error: {failed_syncs(summary)} scheduled sync(s) failed")
