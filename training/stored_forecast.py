"""The champion batch run's stored forecast of one series, served only while it is fresh.

Fresh means: trained on data up to the last complete period, with a horizon at least as long as asked and
every requested quantile stored, and the warehouse's time zone unchanged since the run began. Otherwise the
caller fits on request, and says so.
"""

from __future__ import annotations

from datetime import UTC
from uuid import UUID

import asyncpg
import pandas as pd

from training import forecast_store, registry
from training.forecast_schemas import DemandForecast, ForecastPoint, Freq, RunInfo


async def fresh_stored_forecast(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    product_id: UUID,
    warehouse_id: UUID,
    freq: Freq,
    horizon: int,
    levels: list[float],
    period: pd.Timestamp,
) -> DemandForecast | None:
    """``period``: the first period not yet complete (``history.current_period``), where a fresh run's data ends."""
    run = await registry.champion(conn, tenant_id, registry.champion_key(freq))
    boundary = period.tz_localize(UTC)
    if run is None or run.training_end is None or run.training_end < boundary or run.horizon < horizon:
        return None
    # A zone given or changed after the run began: its days are another calendar's (migration 0121).
    zone_changed = await conn.fetchval("SELECT timezone_changed_at FROM app.warehouses WHERE id = $1", warehouse_id)
    if zone_changed is not None and zone_changed > run.created_at:
        return None
    frame = await forecast_store.stored_forecast(conn, tenant_id, run.id, product_id, warehouse_id)
    columns = {f"q{q:g}" for q in levels}
    if frame.empty or not columns <= set(frame.columns):
        return None
    frame = frame.head(horizon)
    return DemandForecast(
        product_id=product_id,
        warehouse_id=warehouse_id,
        freq=freq,
        horizon=horizon,
        source="stored",
        model=str(frame["model"].iloc[0]),
        reason=(
            f"stored forecast of champion run v{run.version} ({run.model_type}, {run_error(run)}), trained on data "
            f"before {run.training_end:%Y-%m-%d}: "
            "fresh, so not refitted (pass refresh=true to fit now)"
        ),
        history_length=0,
        backtest_mase=None,
        candidates=[],
        run=RunInfo.from_record(run),
        points=[
            ForecastPoint(
                ds=row["ds"], yhat=float(row["yhat"]), quantiles={f"{q:g}": float(row[f"q{q:g}"]) for q in levels}
            )
            for _, row in frame.iterrows()
        ],
    )


def run_error(run: registry.RunRecord) -> str:
    """The run's mean MASE, named with the series it was taken over: a trained run's over all its series at one
    holdout origin, a batch run's over its backtested series only (all-zero, fallback and short series have none)."""
    mase = run.metrics.get("mase")
    shown = mase if mase is None else round(float(mase), 3)
    if "holdout" in run.metrics:
        return f"mean holdout MASE {shown} over its {run.series_count} series"
    backtested = run.metrics.get("backtested_series")
    if backtested is None:  # a run recorded without the count: its mean is over an unknown share of its series
        return f"mean backtest MASE {shown} over the backtested ones of its {run.series_count} series"
    return f"mean backtest MASE {shown} over {backtested} backtested series of {run.series_count}"


async def series_holdout_mase(conn: asyncpg.Connection, tenant_id: UUID, run_id: UUID, series: str) -> float | None:
    """A trained run's holdout MASE on one series (``unique_id``), as the train job recorded it; None for a series
    it did not score, or a run recorded before per-series values were kept (never the run's mean)."""
    value: float | None = await conn.fetchval(
        "SELECT (metrics -> 'series_mase' ->> $3)::float8 FROM app.forecast_runs WHERE tenant_id = $1 AND id = $2",
        tenant_id, run_id, series,
    )  # fmt: skip
    return value
