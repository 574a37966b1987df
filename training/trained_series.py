"""Which series a Ray Train run was trained and held-out scored on, for serving one series from its checkpoint.

The train job trains only on series with ``MIN_HISTORY_HORIZONS`` horizons of history and records each one's holdout
MASE in ``metrics.series_mase`` (``train_job.train_and_register``): its keys are the series the run was trained and
compared with the baseline on. A series missing there (shorter, or added since) was never weighed, so the run does
not serve it (until 2026-12-07 an xgboost champion served any series of 2 periods or more).
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from training.registry import RunRecord
from training.serving import TrainedRun


async def trained_run_for_series(conn: asyncpg.Connection, tenant_id: UUID, run: RunRecord, series: str) -> TrainedRun:
    """``run`` to serve ``series`` (a ``unique_id``) with, knowing whether it was trained on it and its holdout MASE
    there (None where not recorded: a series it did not score, or one whose error could not be taken)."""
    row = await conn.fetchrow(
        "SELECT coalesce(metrics -> 'series_mase' ? $3, false) AS scored, (metrics -> 'series_mase' ->> $3)::float8 "
        "AS mase FROM app.forecast_runs WHERE tenant_id = $1 AND id = $2",
        tenant_id, run.id, series,
    )  # fmt: skip
    scored = row is not None and bool(row["scored"])
    mase = row["mase"] if row is not None else None
    return TrainedRun(
        run_id=str(run.id), version=run.version, kind=run.model_type, artifact_uri=str(run.artifact_uri),
        freq=run.freq, horizon=run.horizon, holdout_mase=mase, trained_on_series=scored,
    )  # fmt: skip
