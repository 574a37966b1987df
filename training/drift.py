"""Forecast accuracy as actuals arrive, and drift flags: stored forecasts against the ledger's demand.

For each registered run, every stored forecast whose date has passed is compared with the demand
that actually left stock. Per run: MASE (absolute error scaled per series by the mean absolute
seasonal difference of its actuals before the run's first forecast date, the run's training data, as
the backtest scales each window by the data up to its cutoff), relative bias
``sum(forecast - actual) / sum(actual)`` (positive: forecasts run high), the number of points (series x
dates) and of matured periods (dates).

A run *drifts* when its live MASE exceeds its own backtest MASE by more than ``mase_tolerance``
(x 1.5 by default: the future was much harder than the past it was selected on) or its relative
bias leaves ``±bias_tolerance`` (a systematic over- or under-forecast that safety stock would not
absorb). Runs with fewer than ``min_points`` matured periods are reported but never flagged: last night's run
has one matured date, whose noise across many series is no evidence of drift. What a tenant's forecasts do now
is the newest run with enough periods (``latest_scorable``), not the newest run; ``matured_forecasts`` reads it
however many younger runs there are (a trained run beside each nightly batch halves the nights 10 runs span).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg
import numpy as np
import pandas as pd

from training.forecast_schemas import RunAccuracy
from training.frequency import season_length
from training.history import current_period, series_id
from training.metrics import mase_scale

# The actuals of every matured date are read with this much before the first for the MASE scale: the batch's own
# training window (``demand_history``'s default), so a weekly series' 52-week differences are ~100, not the ~4
# that 400 days left.
SCALE_HISTORY_DAYS = 3 * 365
# Matured periods (dates, not series x dates) before a run may be flagged.
MIN_PERIODS = 7


def accuracy_report(
    forecasts: pd.DataFrame,
    actuals: pd.DataFrame,
    freq: str,
    *,
    mase_tolerance: float = 1.5,
    bias_tolerance: float = 0.2,
    min_points: int = MIN_PERIODS,
) -> list[RunAccuracy]:
    """One row per run of ``forecasts`` (``run_id, version, model_name, backtest_mase, unique_id, ds, yhat``)
    scored against ``actuals`` (``unique_id, ds, y``, zero-filled demand)."""
    if forecasts.empty or actuals.empty:
        return []
    scales = _run_scales(forecasts, actuals, season_length(freq))
    merged = forecasts.merge(actuals[["unique_id", "ds", "y"]], on=["unique_id", "ds"], how="inner")
    out = []
    for (run_id, version, model_name), run in merged.groupby(["run_id", "version", "model_name"], sort=False):
        errors = (run["yhat"] - run["y"]).abs() / run["unique_id"].map(scales[run_id])
        per_series = errors.groupby(run["unique_id"]).mean()
        mase = float(per_series.mean()) if len(per_series) else None
        total = float(run["y"].sum())
        bias = float((run["yhat"] - run["y"]).sum() / total) if total > 0 else None
        backtest = run["backtest_mase"].iloc[0]
        backtest = float(backtest) if backtest is not None and np.isfinite(backtest) else None
        reasons = []
        periods = int(run["ds"].nunique())
        if periods >= min_points:
            if mase is not None and backtest is not None and mase > backtest * mase_tolerance:
                reasons.append(f"live MASE {mase:.2f} exceeds {mase_tolerance:g} x backtest MASE {backtest:.2f}")
            if bias is not None and abs(bias) > bias_tolerance:
                side = "over" if bias > 0 else "under"
                reasons.append(f"forecasts run {abs(bias):.0%} {side} actual demand (tolerance {bias_tolerance:.0%})")
        out.append(
            RunAccuracy(
                run_id=str(run_id),
                version=int(version),
                model_name=str(model_name),
                points=len(run),
                periods=periods,
                series=int(run["unique_id"].nunique()),
                mase=mase,
                backtest_mase=backtest,
                bias=bias,
                drift=bool(reasons),
                reasons=reasons,
            )
        )
    return sorted(out, key=lambda r: r.version, reverse=True)


def latest_scorable(runs: Sequence[RunAccuracy], min_points: int = MIN_PERIODS) -> RunAccuracy | None:
    """The newest of ``runs`` with at least ``min_points`` matured periods, or None: the run whose flag says whether
    the tenant's forecasts drift. The newest run is last night's, one matured date, never flagged."""
    eligible = [run for run in runs if run.periods >= min_points]
    return max(eligible, key=lambda run: run.version, default=None)


def _run_scales(forecasts: pd.DataFrame, actuals: pd.DataFrame, season: int) -> dict[object, dict[str, float]]:
    """Per run and series, the MASE denominator from the actuals strictly before the run's first forecast date for
    the series: the data the run was trained on. Scaling by the matured values themselves let erratic demand
    raise its own yardstick, so drift went unflagged. ``mase_scale`` falls back to lag 1 when fewer than a season
    plus one points precede; with fewer than two (no difference to take) the series' whole actuals are used."""
    history = {
        uid: (group["ds"], group["y"].to_numpy(dtype=float))
        for uid, group in actuals.sort_values("ds").groupby("unique_id", sort=False)
    }
    firsts = forecasts.groupby(["run_id", "unique_id"], sort=False)["ds"].min()
    scales: dict[object, dict[str, float]] = {}
    for (run_id, uid), first in firsts.items():
        if uid not in history:
            continue
        ds, y = history[uid]
        before = y[(ds < first).to_numpy()]
        scales.setdefault(run_id, {})[uid] = mase_scale(before if len(before) >= 2 else y, season)
    return scales


async def matured_forecasts(
    conn: asyncpg.Connection, tenant_id: UUID, model_name: str, freq: str, *, as_of: datetime, runs: int = 10
) -> pd.DataFrame:
    """Stored forecasts whose dates have passed (the period is complete) of the last ``runs`` finished runs and of
    the newest finished run old enough to have ``MIN_PERIODS`` of them (its forecasts start at its
    ``training_end``), the run ``latest_scorable`` flags: with a trained run beside each nightly batch the last 10
    runs span 5 nights, none of them scorable, and drift went unreported."""
    boundary = await current_period(conn, as_of, freq, tenant_id=tenant_id)
    # A run forecasts one date a step from the period starting at its training_end (the day, or the week's
    # Sunday): MIN_PERIODS steps before the boundary, that many have matured. A run without one is read only
    # among the last ``runs``.
    step = pd.Timedelta(weeks=1) if freq == "W" else pd.Timedelta(days=1)
    rows = await conn.fetch(
        """
        WITH recent AS (
            -- once per run: metrics holds series_mase (~1 MB for 10,000 series), read again for each joined row
            (SELECT id, version, model_name, (metrics ->> 'mase')::double precision AS backtest_mase
             FROM app.forecast_runs
             WHERE tenant_id = $1 AND model_name = $2 AND status IN ('candidate', 'champion', 'retired')
             ORDER BY version DESC LIMIT $4)
            UNION
            (SELECT id, version, model_name, (metrics ->> 'mase')::double precision AS backtest_mase
             FROM app.forecast_runs
             WHERE tenant_id = $1 AND model_name = $2 AND status IN ('candidate', 'champion', 'retired')
               AND training_end <= $5 AND horizon >= $6
             ORDER BY version DESC LIMIT 1)
        )
        SELECT r.id AS run_id, r.version, r.model_name, r.backtest_mase,
               f.product_id, f.warehouse_id, (f.ds AT TIME ZONE 'UTC') AS ds, f.yhat
        FROM recent r
        JOIN app.demand_forecasts f ON f.tenant_id = $1 AND f.run_id = r.id
        WHERE f.ds < $3
        """,
        tenant_id,
        model_name,
        boundary.tz_localize("UTC").to_pydatetime(),
        runs,
        (boundary - MIN_PERIODS * step).tz_localize("UTC").to_pydatetime(),
        MIN_PERIODS,
    )
    columns = ["run_id", "version", "model_name", "backtest_mase", "unique_id", "ds", "yhat"]
    if not rows:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame([dict(r) for r in rows])
    frame["unique_id"] = [series_id(p, w) for p, w in zip(frame["product_id"], frame["warehouse_id"], strict=True)]
    frame["ds"] = pd.to_datetime(frame["ds"])
    return frame[columns]


async def score_latest_runs(
    conn: asyncpg.Connection, tenant_id: UUID, model_name: str, freq: str, *, as_of: datetime, runs: int = 10
) -> list[RunAccuracy]:
    """``accuracy_report`` of ``matured_forecasts`` (the last ``runs`` runs and the newest run old enough to flag)
    against the tenant's demand, newest first."""
    from training.history import demand_history

    forecasts = await matured_forecasts(conn, tenant_id, model_name, freq, as_of=as_of, runs=runs)
    if forecasts.empty:
        return []
    days = (as_of.replace(tzinfo=None) - forecasts["ds"].min()).days + SCALE_HISTORY_DAYS
    actuals = await demand_history(
        conn, freq=freq, as_of=as_of, lookback_days=days, tenant_id=tenant_id, active_only=False
    )
    return accuracy_report(forecasts, actuals[["unique_id", "ds", "y"]], freq)
