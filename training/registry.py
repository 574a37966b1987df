"""The model registry (tables of migration 0020), over an asyncpg connection.

A *run* records what was trained and how well it backtested: model type, version, parameters, training window,
metrics and artifact location. Each registered model (``model_name``, e.g. ``demand-D``) has at most one champion,
which serving reads; ``promote_if_better`` hands the title over only when the candidate's backtest metric beats the
champion's (or the champion has gone stale). Runs are keyed by ``run_key``: rerunning a job with the same key reuses
its run and version, and ``write_forecasts`` replaces that run's rows for the series it writes, so reruns never
duplicate; a run whose job stopped before finishing it (its process killed) is failed as interrupted by the next
start of its model. Every tenant-owned query names ``tenant_id``: harmless under row-level security and required
for batch jobs that connect as the owner.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from common.database import lock_until_commit
from training.errors import ForecastInputError
from training.jsonb import jsonb_safe
from training.registry_runs import fail_interrupted_runs
from training.registry_runs import fail_run as fail_run  # its callers name it here

# A trained run's holdout MASE per series (``metrics.series_mase``, thousands of entries) stays out of every record
# (and /runs); ``stored_forecast.series_holdout_mase`` reads one series' value.
RUN_COLUMNS = (
    "id, model_name, model_type, version, run_key, freq, horizon, params, training_start, training_end, series_count, "
    "metrics - 'series_mase' AS metrics, artifact_uri, status, promotion_note, created_at, finished_at, promoted_at"
)
# Lower is better for these; promotion refuses any other metric.
PROMOTION_METRICS = ("mase", "smape", "rmse", "pinball")
# A champion whose data ends this much before a candidate's yields whatever the scores or horizons.
MAX_CHAMPION_AGE = timedelta(days=14)
# Finished batch runs (``model_type`` "auto") of model $2, and which serves: newest data, longest horizon, version.
_BATCH_RUNS = "tenant_id = $1 AND model_name = $2 AND model_type = 'auto' AND status IN ('candidate', 'retired')"
_BATCH_ORDER = "training_end DESC, horizon DESC, version DESC"


def champion_key(freq: str) -> str:
    """The registered model whose champion serves ``freq`` demand forecasts (``demand-D``). Every producer competes
    for it: the nightly statistical batch (``model_type`` "auto") and the Ray Train job's global models."""
    return f"demand-{freq}"


def batch_run_key(training_end: datetime, freq: str, horizon: int) -> str:
    """The nightly batch's run of one night: a rerun reuses it."""
    return f"batch/{training_end:%Y-%m-%d}/{freq}/h{horizon}"


def trained_run_key(kind: str, training_end: datetime, horizon: int) -> str:
    """The Ray Train job's run of one model kind on data up to ``training_end``: a rerun reuses it."""
    return f"train/{kind}/{training_end:%Y-%m-%d}/h{horizon}"


@dataclass(frozen=True)
class RunRecord:
    id: UUID
    model_name: str
    model_type: str
    version: int
    run_key: str
    freq: str
    horizon: int
    params: dict[str, Any]
    training_start: datetime | None
    training_end: datetime | None
    series_count: int
    metrics: dict[str, Any]
    artifact_uri: str | None
    status: str
    promotion_note: str | None
    created_at: datetime
    finished_at: datetime | None
    promoted_at: datetime | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> RunRecord:
        return cls(**dict(row))


@dataclass(frozen=True)
class PromotionDecision:
    promoted: bool
    reason: str
    candidate: float | None
    champion: float | None
    previous_champion_id: UUID | None


async def start_run(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    *,
    model_name: str,
    model_type: str,
    run_key: str,
    freq: str,
    horizon: int,
    params: Mapping[str, Any] | None = None,
    training_start: datetime | None = None,
    training_end: datetime | None = None,
    artifact_uri: str | None = None,
) -> RunRecord:
    """Register a run, or find the one with the same ``run_key`` again (same id and version); runs of the model
    whose job stopped without finishing them are failed as interrupted (``registry_runs.fail_interrupted_runs``)."""
    async with conn.transaction():
        # Serialise version numbering per registered model (the unique keys would catch a race; this avoids a retry).
        await lock_until_commit(conn, f"{tenant_id}/{model_name}")
        row = await conn.fetchrow(
            f"""
            INSERT INTO app.forecast_runs (tenant_id, model_name, model_type, version, run_key, freq, horizon, params,
                                           training_start, training_end, artifact_uri)
            VALUES ($1, $2, $3,
                    (SELECT coalesce(max(version), 0) + 1 FROM app.forecast_runs
                     WHERE tenant_id = $1 AND model_name = $2),
                    $4, $5, $6, $7, $8, $9, $10)
            ON CONFLICT (tenant_id, model_name, run_key) DO UPDATE
            SET model_type = EXCLUDED.model_type, freq = EXCLUDED.freq, horizon = EXCLUDED.horizon,
                params = EXCLUDED.params, training_start = EXCLUDED.training_start,
                training_end = EXCLUDED.training_end, started_at = now(),
                artifact_uri = coalesce(EXCLUDED.artifact_uri, app.forecast_runs.artifact_uri),
                -- a champion being refreshed stays champion; anything else is running again
                status = CASE WHEN app.forecast_runs.status = 'champion' THEN 'champion' ELSE 'running' END
            RETURNING {RUN_COLUMNS}
            """,
            tenant_id, model_name, model_type, run_key, freq, horizon, jsonb_safe(params or {}), training_start,
            training_end, artifact_uri,
        )  # fmt: skip
        assert row is not None
        await fail_interrupted_runs(conn, tenant_id, model_name, keep=row["id"])
    return RunRecord.from_row(row)


async def finish_run(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    run_id: UUID,
    *,
    metrics: Mapping[str, Any],
    series_count: int,
    failed: bool = False,
    artifact_uri: str | None = None,
) -> RunRecord:
    """Record the run's backtest metrics; it becomes a candidate (or stays champion), or failed."""
    row = await conn.fetchrow(
        f"""
        UPDATE app.forecast_runs
        SET metrics = $3, series_count = $4, finished_at = now(),
            artifact_uri = coalesce($6, artifact_uri),
            status = CASE WHEN $5 THEN 'failed' WHEN status = 'champion' THEN 'champion' ELSE 'candidate' END
        WHERE tenant_id = $1 AND id = $2
        RETURNING {RUN_COLUMNS}
        """,
        tenant_id, run_id, jsonb_safe(metrics), series_count, failed, artifact_uri,
    )  # fmt: skip
    if row is None:
        raise ForecastInputError(f"no forecast run {run_id}")
    return RunRecord.from_row(row)


async def promote_if_better(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    run_id: UUID,
    *,
    metric: str = "mase",
    max_champion_age: timedelta | None = MAX_CHAMPION_AGE,
    outdated: Callable[[RunRecord], Awaitable[str | None]] | None = None,
    compare: Callable[[RunRecord], Awaitable[tuple[bool, str, float | None, float | None] | None]] | None = None,
) -> PromotionDecision:
    """Make ``run_id`` the champion of its model if its backtest ``metric`` is lower than the champion's, unless
    ``compare`` gives its own verdict on the locked champion (promoted, reason, the figures on the same rows).

    Also promotes when there is no champion, when the champion has no value for the metric, when its training
    data ends more than ``max_champion_age`` before the candidate's (a lucky old backtest must not block fresher
    forecasts forever), or when ``outdated`` says why the locked champion is outdated (it cannot be loaded, or its
    scores were measured under rules the candidate's are not comparable with). A candidate whose data ends before
    the champion's (a rerun of an earlier night), or with a shorter horizon, never replaces a current champion; one
    with a longer horizon does with a finite score that beats seasonal naive (MASE < 1) or the champion's, the scores
    being over other steps (until 2026-12-07 the nightly 28-step batch lost to a 7-step champion on them)."""
    if metric not in PROMOTION_METRICS:
        raise ForecastInputError(f"promotion metric must be one of {PROMOTION_METRICS}, got {metric!r}")
    async with conn.transaction():
        run = await _locked_run(conn, tenant_id, run_id)
        if run.status == "champion":
            return PromotionDecision(False, "already the champion", _metric(run, metric), None, run.id)
        if run.status != "candidate":
            return PromotionDecision(False, f"run is {run.status}, not a finished candidate", None, None, None)
        champion = await _locked_champion(conn, tenant_id, run)
        ours = _metric(run, metric)
        theirs = _metric(champion, metric) if champion is not None else None
        why_outdated = await outdated(champion) if outdated is not None and champion is not None else None
        if ours is None:
            promoted, reason = False, f"candidate has no backtest {metric}"
        elif champion is None:
            promoted, reason = True, "no champion yet"
        elif why_outdated is not None:
            promoted, reason = True, f"champion v{champion.version} is outdated: {why_outdated}"
        elif (refused := _cannot_replace(run, champion, max_champion_age)) is not None:
            promoted, reason = False, refused
        elif theirs is None:
            promoted, reason = True, f"champion v{champion.version} has no backtest {metric}"
        elif _stale(champion, run, max_champion_age):
            promoted, reason = True, f"champion v{champion.version} trained on data older than {max_champion_age}"
        elif run.horizon > champion.horizon:
            steps = f"{run.horizon} steps, champion v{champion.version} only {champion.horizon}"
            promoted = math.isfinite(ours) and (ours <= theirs or (metric == "mase" and ours < 1))
            reason = f"forecasts {steps}: their {metric} is not comparable, and the champion cannot serve {run.horizon}"
            reason += "" if promoted else f", but its {metric} {ours:.4f} beats neither seasonal naive nor {theirs:.4f}"
        elif compare is not None and (same := await compare(champion)) is not None:
            promoted, reason, ours, theirs = same
        elif ours < theirs:
            promoted, reason = True, f"{metric} {ours:.4f} beats champion v{champion.version}'s {theirs:.4f}"
        else:
            promoted, reason = False, f"{metric} {ours:.4f} does not beat champion v{champion.version}'s {theirs:.4f}"
        await _decide(conn, tenant_id, run, champion.id if champion else None, promoted, reason)
    return PromotionDecision(promoted, reason, ours, theirs, champion.id if champion else None)


async def promote_over_baseline(
    conn: asyncpg.Connection, tenant_id: UUID, run_id: UUID, *, ours: float, baseline: float, windows: str
) -> PromotionDecision:
    """Make ``run_id`` the champion when its error ``ours`` beats ``baseline``, the champion's method scored on
    the same windows (described by ``windows``); otherwise it stays a candidate. The reason is stored. As in
    ``promote_if_better``, a run whose data ends before the champion's, or with a shorter horizon while the
    champion is current, never replaces it (until 2026-12-07 a 14-step run retired the nightly 28-step batch)."""
    async with conn.transaction():
        run = await _locked_run(conn, tenant_id, run_id)
        if run.status not in ("candidate", "champion"):
            return PromotionDecision(False, f"run is {run.status}, not a finished candidate", None, None, None)
        held = await _locked_champion(conn, tenant_id, run)
        current = held.id if held else None
        promoted = math.isfinite(ours) and ours < baseline
        verb = "beats" if promoted else "does not beat"
        reason = f"mase {ours:.4f} {verb} the statistical selection's {baseline:.4f} on {windows}"
        # A champion scored on the same windows (another model kind of the same job) yields only to a lower error.
        theirs = _metric(held, "mase") if held and held.metrics.get("holdout") == windows else None
        if promoted and held and theirs is not None and ours >= theirs:
            promoted, reason = False, f"{reason}, but not champion v{held.version}'s {theirs:.4f} on the same windows"
        if held and (refused := _cannot_replace(run, held, MAX_CHAMPION_AGE)) is not None:
            promoted, reason = False, refused
        # A champion retrained under its run key (a rerun of the same night) keeps the title only while it wins.
        await _decide(conn, tenant_id, run, current if promoted else None, promoted, reason)
    return PromotionDecision(promoted, reason, ours, baseline, current)


async def _locked_champion(conn: asyncpg.Connection, tenant_id: UUID, run: RunRecord) -> RunRecord | None:
    """The champion of ``run``'s model other than ``run``, locked until the transaction ends."""
    where = "tenant_id = $1 AND model_name = $2 AND status = 'champion' AND id <> $3 FOR UPDATE"
    return await _one_run(conn, where, tenant_id, run.model_name, run.id)


async def _decide(
    conn: asyncpg.Connection, tenant_id: UUID, run: RunRecord, retire: UUID | None, promoted: bool, reason: str
) -> None:
    """Record a promotion decision on ``run``; a promotion retires the champion ``retire``. A champion that loses
    goes back to candidate and the finished batch run (``model_type`` "auto") on data ending no earlier that
    ``_BATCH_ORDER`` puts first is champion again, on its night the one ``batch_run_beside`` names (until 2026-12-07
    none was, and every request was refitted); with none, the baseline serves."""
    if promoted and retire is not None:
        await conn.execute(
            "UPDATE app.forecast_runs SET status = 'retired' WHERE tenant_id = $1 AND id = $2", tenant_id, retire
        )
    await conn.execute(
        """UPDATE app.forecast_runs SET promotion_note = $4, promoted_at = CASE WHEN $3 THEN now() ELSE promoted_at END,
               status = CASE WHEN $3 THEN 'champion' WHEN status = 'champion' THEN 'candidate' ELSE status END
           WHERE tenant_id = $1 AND id = $2""",
        tenant_id, run.id, promoted, reason,
    )  # fmt: skip
    if run.status == "champion" and not promoted:
        await conn.execute(
            f"""UPDATE app.forecast_runs SET status = 'champion', promoted_at = now(), promotion_note = $5
                WHERE tenant_id = $1 AND id = (SELECT id FROM app.forecast_runs WHERE {_BATCH_RUNS}
                    AND training_end >= $4 AND id <> $3 ORDER BY {_BATCH_ORDER} LIMIT 1 FOR UPDATE)""",
            tenant_id, run.model_name, run.id, run.training_end, f"reinstated when v{run.version} lost: {reason}",
        )  # fmt: skip


async def batch_run_beside(conn: asyncpg.Connection, tenant_id: UUID, run: RunRecord) -> RunRecord | None:
    """The finished batch run on the same data as ``run``, a trained run, that forecasts the series it leaves out:
    the one ``run`` losing would make champion again (None when ``run`` is a batch run). Until 2026-12-07 the
    copilot chose the newest version, a hand-run shorter batch beside the nightly one, which the loss passed over."""
    if run.model_type == "auto" or run.training_end is None:
        return None
    where = f"{_BATCH_RUNS} AND training_end = $3 ORDER BY {_BATCH_ORDER} LIMIT 1"
    return await _one_run(conn, where, tenant_id, run.model_name, run.training_end)


async def champion(conn: asyncpg.Connection, tenant_id: UUID, model_name: str) -> RunRecord | None:
    return await _one_run(conn, "tenant_id = $1 AND model_name = $2 AND status = 'champion'", tenant_id, model_name)


async def _one_run(conn: asyncpg.Connection, where: str, *args: Any) -> RunRecord | None:
    """The run ``where`` (an SQL condition, with any ORDER BY or FOR UPDATE after it) finds first, if any."""
    row = await conn.fetchrow(f"SELECT {RUN_COLUMNS} FROM app.forecast_runs WHERE {where}", *args)
    return RunRecord.from_row(row) if row is not None else None


async def list_runs(conn: asyncpg.Connection, tenant_id: UUID, model_name: str, limit: int = 20) -> list[RunRecord]:
    rows = await conn.fetch(
        f"SELECT {RUN_COLUMNS} FROM app.forecast_runs WHERE tenant_id = $1 AND model_name = $2 "
        "ORDER BY version DESC LIMIT $3",
        tenant_id, model_name, limit,
    )  # fmt: skip
    return [RunRecord.from_row(r) for r in rows]


def _metric(run: RunRecord | None, metric: str) -> float | None:
    value = None if run is None or run.metrics.get(metric) is None else float(run.metrics[metric])
    return value if value is not None and math.isfinite(value) else None


def _cannot_replace(run: RunRecord, champion: RunRecord, max_age: timedelta | None) -> str | None:
    """Why ``run`` may not replace ``champion`` whatever its score: its data ends earlier (a rerun of an earlier
    night: its forecasts are not current), or it forecasts fewer steps while the champion is current (scored on
    shorter windows, and every longer request would be refitted)."""
    if _stale(run, champion, timedelta(0)):
        return f"trained on data before champion v{champion.version}'s"
    if run.horizon < champion.horizon and not _stale(champion, run, max_age):
        return f"forecasts {run.horizon} steps, champion v{champion.version} {champion.horizon}"
    return None


def _stale(champion: RunRecord, candidate: RunRecord, max_age: timedelta | None) -> bool:
    if max_age is None or champion.training_end is None or candidate.training_end is None:
        return False
    return candidate.training_end - champion.training_end > max_age


async def _locked_run(conn: asyncpg.Connection, tenant_id: UUID, run_id: UUID) -> RunRecord:
    """The run, locked for a promotion decision (in the caller's transaction) under its model's lock, start_run's:
    promotions of one model queue there, so none decides on a champion another is replacing (until 2026-12-07 one
    promoted while another gave the title back to a nightly run: forecast_runs_one_champion refused it, or the two
    deadlocked, and the train job marked the tenant failed)."""
    model_name = await conn.fetchval(
        "SELECT model_name FROM app.forecast_runs WHERE tenant_id = $1 AND id = $2", tenant_id, run_id
    )
    if model_name is not None:
        await lock_until_commit(conn, f"{tenant_id}/{model_name}")
    if (run := await _one_run(conn, "tenant_id = $1 AND id = $2 FOR UPDATE", tenant_id, run_id)) is None:
        raise ForecastInputError(f"no forecast run {run_id}")
    return run
