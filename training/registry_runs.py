"""Registry runs that broke off (``app.forecast_runs``): failed by their job, or interrupted when the job's process
ended before it could say (Ray's SIGTERM, an OOM kill), found by the next start of a run of the same model."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import asyncpg

INTERRUPTED = "interrupted: the job stopped before finishing it"
# A run still 'running' this long after it started is taken for interrupted: longer than any run takes (the nightly
# RayJob's deadline is 4 hours, cluster/base/nightly-batch.yaml) and shorter than the 24 hours to the next night.
STALE_AFTER = timedelta(hours=12)


async def fail_run(conn: asyncpg.Connection, tenant_id: UUID, run_id: UUID, *, error: str) -> None:
    """Mark a run that broke off as failed, its error kept in ``metrics``. A champion being refreshed under the
    same run key stays champion with its metrics: what it already serves is still a forecast for its night."""
    await conn.execute(
        """
        UPDATE app.forecast_runs
        SET status = 'failed', finished_at = now(), metrics = metrics || jsonb_build_object('error', $3::text)
        WHERE tenant_id = $1 AND id = $2 AND status <> 'champion'
        """,
        tenant_id, run_id, error[:2000],
    )  # fmt: skip


async def fail_interrupted_runs(
    conn: asyncpg.Connection, tenant_id: UUID, model_name: str, *, keep: UUID, stale_after: timedelta = STALE_AFTER
) -> int:
    """Fail the runs of ``model_name`` other than ``keep`` (the run being started) still 'running' more than
    ``stale_after`` after they started: their job stopped without finishing or failing them, and until 2026-12-07
    they stayed 'running' for good unless a rerun reused their run key. A job that outlives the bound after all
    still finishes its run (``finish_run`` makes it a candidate). Returns how many were failed."""
    status = await conn.execute(
        """
        UPDATE app.forecast_runs
        SET status = 'failed', finished_at = now(), metrics = metrics || jsonb_build_object('error', $4::text)
        WHERE tenant_id = $1 AND model_name = $2 AND id <> $3 AND status = 'running'
          AND started_at < now() - $5::interval
        """,
        tenant_id, model_name, keep, INTERRUPTED, stale_after,
    )  # fmt: skip
    return int(status.rsplit(" ", 1)[1])
