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
    mase = run.metrics.get("mase")
    return DemandForecast(
        product_id=product_id,
        warehouse_id=warehouse_id,
        freq=freq,
        horizon=horizon,
        source="stored",
        model=str(frame["model"].iloc[0]),
        reason=(
            f"stored forecast of champion run v{run.version} ({run.model_type}, backtest MASE "
            f"{mase if mase is None else round(float(mase), 3)}), trained on data before {run.training_end:%Y-%m-%d}: "
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
