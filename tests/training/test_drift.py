"""Live accuracy of stored forecasts against the ledger, and drift flags."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from common.database import TenantTransaction
from training.drift import (
    SCALE_HISTORY_DAYS,
    accuracy_report,
    latest_scorable,
    matured_forecasts,
    score_latest_runs,
)
from training.forecast_store import write_forecasts
from training.history import demand_history, series_id
from training.registry import champion_key, finish_run, start_run

DAYS = pd.date_range("2025-01-01", periods=28, freq="D")


def frames(
    forecast_level: float,
    backtest_mase: float = 0.8,
    actual: float = 10.0,
    *,
    dates: pd.DatetimeIndex = DAYS,
    noise: np.ndarray | None = None,
    horizon: int = 14,
):
    """Actuals ``actual`` plus ``noise`` (unit normal when None) on ``dates``; a run forecasting its last ``horizon``
    dates at ``forecast_level``."""
    if noise is None:
        noise = np.random.default_rng(0).normal(0, 1, len(dates))
    actuals = pd.DataFrame({"unique_id": "a", "ds": dates, "y": actual + noise})
    forecasts = pd.DataFrame(
        {
            "run_id": "00000000-0000-4000-8000-000000000001",
            "version": 1,
            "model_name": "demand-D",
            "backtest_mase": backtest_mase,
            "unique_id": "a",
            "ds": dates[-horizon:],
            "yhat": forecast_level,
        }
    )
    return forecasts, actuals


def test_accurate_forecasts_do_not_drift():
    (run,) = accuracy_report(*frames(10.0), "D")
    assert run.points == 14 and run.series == 1
    assert abs(run.bias) < 0.05
    assert not run.drift and run.reasons == []


def test_systematic_over_forecast_is_flagged_as_bias_drift():
    (run,) = accuracy_report(*frames(15.0), "D")
    assert run.bias == pytest.approx(0.5, abs=0.05)
    assert run.drift
    assert any("over actual demand" in r for r in run.reasons)
    assert any("exceeds 1.5 x backtest MASE" in r for r in run.reasons)


def test_too_few_matured_points_are_reported_but_never_flagged():
    forecasts, actuals = frames(30.0)
    (run,) = accuracy_report(forecasts.head(3), actuals, "D", min_points=7)
    assert run.points == run.periods == 3 and not run.drift


def nightly_runs(nights: int, series: int, level: float, *, actual: float = 10.0, horizon: int = 28) -> tuple:
    """Actuals ``actual`` plus unit noise per series over 60 days; runs made on each of the last ``nights`` nights
    (version 100 - k made k nights ago, so k dates have matured), every forecast at ``level``."""
    rng = np.random.default_rng(0)
    days = pd.date_range("2025-01-01", periods=60, freq="D")
    ids = [f"s{i}" for i in range(series)]
    actuals = pd.DataFrame(
        {
            "unique_id": np.repeat(ids, len(days)),
            "ds": np.tile(days, series),
            "y": actual + rng.normal(0, 1, 60 * series),
        }
    )
    runs = []
    for k in range(1, nights + 1):
        dates = pd.date_range(days[-1] - pd.Timedelta(days=k - 1), periods=horizon, freq="D")
        dates = dates[dates <= days[-1]]
        runs.append(
            pd.DataFrame(
                {
                    "run_id": f"00000000-0000-4000-8000-{k:012d}",
                    "version": 100 - k,
                    "model_name": "demand-D",
                    "backtest_mase": 0.8,
                    "unique_id": np.repeat(ids, len(dates)),
                    "ds": np.tile(dates, series),
                    "yhat": level,
                }
            )
        )
    return pd.concat(runs, ignore_index=True), actuals


def test_one_matured_date_across_ten_series_is_not_flagged_however_far_off():
    # Last night's run: 10 points, but one date. Counting points, one day's noise across 7+ series was flagged.
    (run,) = accuracy_report(*nightly_runs(1, 10, 13.0), "D")
    assert (run.points, run.periods, run.series) == (10, 1, 10)
    assert run.bias == pytest.approx(0.3, abs=0.05)
    assert not run.drift and run.reasons == []


def test_a_tenant_drifts_when_its_newest_run_with_seven_matured_dates_does_though_last_nights_is_too_young():
    # 5 series forecast 60% high every night: counting points, no run of < 7 series was flagged on its first
    # dates and the report read only the newest run, so the tenant never drifted.
    runs = accuracy_report(*nightly_runs(8, 5, 16.0), "D")
    assert [(r.version, r.periods) for r in runs][:2] == [(99, 1), (98, 2)]
    assert not runs[0].drift
    latest = latest_scorable(runs)
    assert latest is not None and (latest.version, latest.periods) == (93, 7)
    assert latest.drift and any("over actual demand" in r for r in latest.reasons)


def test_no_run_with_seven_matured_dates_gives_no_latest_run():
    assert latest_scorable(accuracy_report(*nightly_runs(6, 5, 16.0), "D")) is None


def test_nothing_matured_gives_an_empty_report():
    forecasts, actuals = frames(10.0)
    assert accuracy_report(forecasts.iloc[:0], actuals, "D") == []


def test_demand_turning_erratic_is_scaled_by_the_calm_weeks_before_the_forecast_and_drifts():
    # 57 calm weeks then 10 erratic ones around the same mean, as score_latest_runs cuts the actuals (400 days
    # before the first matured week). Scaled over all 67 weeks, the erratic weeks raised their own yardstick
    # (MASE 1.3, no drift); scaled by the run's training data they are far worse than the backtest.
    rng = np.random.default_rng(1)
    noise = np.concatenate([rng.normal(0, 5, 57), rng.normal(0, 25, 10)])
    weeks = pd.date_range("2024-01-07", periods=67, freq="W")
    (run,) = accuracy_report(*frames(100.0, 1.0, 100.0, dates=weeks, noise=noise, horizon=10), "W")
    assert run.points == 10
    assert run.mase is not None and run.mase > 3
    assert run.drift


async def receive_then_issue(owner_pool, tenant_id, product, warehouse, receipt: tuple, issues: list[tuple]) -> None:
    """Ledger rows of one series: a receipt (quantity, occurred_at), then an issue per (negative quantity,
    occurred_at)."""
    async with owner_pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO app.stock_movements (tenant_id, product_id, warehouse_id, movement_type, quantity, "
            "occurred_at) VALUES ($1, $2, $3, 'receipt', $4, $5)",
            tenant_id, product, warehouse, *receipt,
        )  # fmt: skip
        await conn.executemany(
            "INSERT INTO app.stock_movements (tenant_id, product_id, warehouse_id, movement_type, quantity, "
            "occurred_at) VALUES ($1, $2, $3, 'issue', $4, $5)",
            [(tenant_id, product, warehouse, quantity, at) for quantity, at in issues],
        )


async def test_matured_forecasts_pair_stored_rows_with_ledger_demand(database, make_tenant, owner_pool):
    tenant = await make_tenant()
    p, w = tenant.products[0], tenant.warehouses[0]
    as_of = datetime(2025, 2, 1, 12, tzinfo=UTC)
    start = as_of - timedelta(days=40)
    issues = [(Decimal(-10), start + timedelta(days=d, hours=3)) for d in range(40)]
    await receive_then_issue(owner_pool, tenant.id, p, w, (10000, start - timedelta(hours=1)), issues)
    # A run made 10 days ago forecasting 20/day (double the truth) for 14 days: 10 of them have matured.
    stored = pd.DataFrame(
        {
            "product_id": p,
            "warehouse_id": w,
            "ds": pd.date_range("2025-01-22", periods=14, freq="D"),
            "yhat": 20.0,
            "model": "auto_ets",
        }
    )

    async def op(tx: TenantTransaction):
        run = await start_run(
            tx.conn, tx.tenant_id, model_name="demand-D", model_type="auto", run_key="k", freq="D", horizon=14
        )
        await write_forecasts(tx.conn, tx.tenant_id, run.id, stored)
        await finish_run(tx.conn, tx.tenant_id, run.id, metrics={"mase": 0.5}, series_count=1)
        forecasts = await matured_forecasts(tx.conn, tx.tenant_id, "demand-D", "D", as_of=as_of)
        actuals = await demand_history(tx.conn, freq="D", as_of=as_of)
        return forecasts, actuals

    forecasts, actuals = await database.run(tenant.claims(), None, op)
    assert len(forecasts) == 10 and set(forecasts["unique_id"]) == {series_id(p, w)}
    (run,) = accuracy_report(forecasts, actuals, "D")
    assert run.bias == pytest.approx(1.0) and run.drift and run.backtest_mase == 0.5
    # The nightly batch's path (owner connection, tenant named) scores the same run the same way.
    async with owner_pool.acquire() as conn:
        assert await score_latest_runs(conn, tenant.id, champion_key("D"), "D", as_of=as_of) == [run]


@pytest.mark.parametrize(
    ("kinds", "runs", "version"),
    [(("auto", "deepar"), 10, 16), (("auto",), 5, 8)],
    ids=["trained-run-beside-each-batch", "batch-only-five-runs"],
)
async def test_the_newest_run_with_seven_matured_dates_is_scored_however_many_younger_runs_there_are(
    database, make_tenant, owner_pool, kinds, runs, version
):
    # 14 nights of runs forecasting 5/day where 20/day sold. With a trained run beside each nightly batch, the 10
    # newest runs by version spanned 5 nights, none had 7 matured dates, and the batch and /accuracy reported no
    # drift; so did runs=5 on a batch-only tenant. The run made 7 nights ago is the one that says.
    tenant = await make_tenant()
    p, w = tenant.products[0], tenant.warehouses[0]
    as_of = datetime(2025, 2, 1, 12, tzinfo=UTC)
    today = datetime(2025, 2, 1, tzinfo=UTC)
    issues = [(Decimal(-20), today - timedelta(days=d, hours=-10)) for d in range(1, 90)]
    await receive_then_issue(owner_pool, tenant.id, p, w, (100000, today - timedelta(days=90)), issues)

    async def nightly_runs(tx: TenantTransaction) -> None:
        for night in range(14, 0, -1):
            end = today - timedelta(days=night)
            stored = pd.DataFrame(
                {"product_id": p, "warehouse_id": w, "ds": pd.date_range(end, periods=28, freq="D"), "yhat": 5.0}
            )
            for kind in kinds:
                run = await start_run(
                    tx.conn, tx.tenant_id, model_name="demand-D", model_type=kind, run_key=f"{kind}/{end:%Y-%m-%d}",
                    freq="D", horizon=28, training_end=end,
                )  # fmt: skip
                await write_forecasts(tx.conn, tx.tenant_id, run.id, stored.assign(model=kind))
                await finish_run(tx.conn, tx.tenant_id, run.id, metrics={"mase": 0.8}, series_count=1)

    await database.run(tenant.claims(), None, nightly_runs)
    async with owner_pool.acquire() as conn:
        scored = await score_latest_runs(conn, tenant.id, champion_key("D"), "D", as_of=as_of, runs=runs)
    latest = latest_scorable(scored)
    assert latest is not None and (latest.version, latest.periods) == (version, 7)
    assert latest.bias == pytest.approx(-0.75) and latest.drift


def test_live_mase_reads_the_batchs_own_training_window_before_the_forecast_for_its_scale():
    # The scale is the run's training data; the batch trains on demand_history's default window.
    assert inspect.signature(demand_history).parameters["lookback_days"].default == SCALE_HISTORY_DAYS
