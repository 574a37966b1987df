"""Panels forecast over Ray tasks: the batch job (idempotent writes, promotion) and the file command."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from deployments.cli import app as cli
from tests.support.refusals import refused_inserts
from tests.training.conftest import intermittent_panel, seasonal_panel
from training.batch_forecast import run_batch
from training.distributed import forecast_on_ray, panel_chunks, partition
from training.planning import auto_forecaster

pytestmark = pytest.mark.slow
AS_OF = datetime(2025, 6, 4, 8, tzinfo=UTC)


def test_partition_keeps_series_whole_and_is_stable():
    panel = pd.concat([seasonal_panel(n_series=5), intermittent_panel(n_series=3)], ignore_index=True)
    parts = partition(panel, 3)
    assert len(parts) == 3
    assert sum(len(p) for p in parts) == len(panel)
    ids = [set(p["unique_id"]) for p in parts]
    assert all(a.isdisjoint(b) for i, a in enumerate(ids) for b in ids[i + 1 :])
    assert [set(p["unique_id"]) for p in partition(panel.sample(frac=1, random_state=1), 3)] == ids
    assert sorted(len(i) for i in ids) == [2, 3, 3]


def one_row_series(count: int) -> pd.DataFrame:
    return pd.DataFrame({"unique_id": [f"s{i}" for i in range(count)], "ds": pd.Timestamp("2025-01-01"), "y": 1.0})


def test_a_panel_is_never_cut_into_chunks_smaller_than_the_panel_rules_need():
    selector = auto_forecaster("D", 7, "full")
    needed = max(selector.min_series_for_pool, selector.global_min_series)
    assert panel_chunks(one_row_series(2 * needed - 1), "D", 7, "full", most=4) == 1
    assert panel_chunks(one_row_series(2 * needed), "D", 7, "full", most=4) == 2
    # A large panel is cut into no more than the CPUs run at once: more chunks would only thin their evidence.
    assert panel_chunks(one_row_series(5 * needed), "D", 7, "full", most=4) == 4
    assert panel_chunks(one_row_series(5 * needed), "D", 7, "full") == 5


def test_forecast_on_ray_returns_every_series_and_reports_progress(ray_cluster):
    # 60 series, two chunks of the 30 the pool rule needs (three asked); short ones cost a fallback fit only.
    short = seasonal_panel(n_series=55, length=6).assign(unique_id=lambda f: "short" + f["unique_id"])
    panel = pd.concat([seasonal_panel(n_series=3), intermittent_panel(n_series=2), short], ignore_index=True)
    progress = []
    results = list(
        forecast_on_ray(panel, "MS", 6, [0.1, 0.9], profile="fast", chunks=3, on_progress=lambda *a: progress.append(a))
    )
    forecast = pd.concat([r.forecast for r in results])
    assert forecast.groupby("unique_id").size().to_dict() == {uid: 6 for uid in panel["unique_id"].unique()}
    assert [(p[0], p[1]) for p in progress] == [(1, 2), (2, 2)]
    assert progress[-1][2:] == (60, 60)
    models = pd.concat([r.selection for r in results]).set_index("unique_id")["model"]
    assert set(models[["sparse0", "sparse1"]]) <= {"croston_sba", "tsb", "ensemble"}


def test_a_long_panel_asked_in_four_chunks_is_forecast_whole_with_the_global_model(ray_cluster):
    # 20 series of 200 days: the global xgboost's panel. A spike on each month's first day, which its day-of-month
    # feature learns and no statistical member can, makes it lean every series' forecast where it competes.
    days = pd.date_range(end="2025-08-05", periods=200, freq="D")
    rng = np.random.default_rng(1)
    weekly = 30 + 5 * np.sin(2 * np.pi * np.arange(len(days)) / 7)
    spike = np.where(days.day == 1, 60.0, 0.0)
    panel = pd.concat(
        [
            pd.DataFrame({"unique_id": f"s{i:02d}", "ds": days, "y": np.round(weekly + spike + rng.normal(0, 1, 200))})
            for i in range(20)
        ],
        ignore_index=True,
    )
    progress = []
    results = list(
        forecast_on_ray(panel, "D", 7, [0.1, 0.9], profile="full", chunks=4, on_progress=lambda *a: progress.append(a))
    )
    notes = pd.concat([r.selection for r in results])["note"]
    assert notes.str.startswith("leaning: xgboost beat").all(), notes.tolist()
    assert progress == [(1, 1, 20, 20)]


async def stock_history(owner_pool, tenant, days=70):
    """Daily issues for both products at warehouse 0 and product 0 at warehouse 1, ending before AS_OF."""
    rng = np.random.default_rng(3)
    start = AS_OF - timedelta(days=days)
    rows = []
    for product, warehouse in ((0, 0), (1, 0), (0, 1)):
        p, w = tenant.products[product], tenant.warehouses[warehouse]
        rows.append((tenant.id, p, w, "receipt", Decimal(100_000), start - timedelta(hours=2)))
        for day in range(days):
            quantity = int(rng.poisson(20 + 10 * ((day % 7) < 5)))
            if quantity:
                rows.append((tenant.id, p, w, "issue", Decimal(-quantity), start + timedelta(days=day)))
    async with owner_pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO app.stock_movements (tenant_id, product_id, warehouse_id, movement_type, quantity, "
            "occurred_at) VALUES ($1, $2, $3, $4, $5, $6)",
            rows,
        )


async def test_batch_rerun_replaces_its_forecasts_and_leaves_the_same_row_count(
    ray_cluster, make_tenant, owner_pool, database_url
):
    tenant = await make_tenant()
    await stock_history(owner_pool, tenant)
    kwargs = {"freq": "D", "horizon": 7, "as_of": AS_OF, "tenant_ids": [tenant.id], "profile": "fast", "chunks": 2}
    (first,) = await run_batch(database_url, **kwargs)
    (second,) = await run_batch(database_url, **kwargs)
    async with owner_pool.acquire() as conn:
        rows = await conn.fetchval("SELECT count(*) FROM app.demand_forecasts WHERE tenant_id = $1", tenant.id)
        runs = await conn.fetch("SELECT version, status FROM app.forecast_runs WHERE tenant_id = $1", tenant.id)
    # Product 1 at warehouse 1 never moved: no series. The other three get 7 days each, once.
    assert first.series == second.series == 3
    assert first.rows == second.rows == rows == 3 * 7
    assert (second.run_id, second.version) == (first.run_id, 1)
    assert [(r["version"], r["status"]) for r in runs] == [(1, "champion")]
    assert first.promoted and first.promotion == "no champion yet"
    assert first.metrics["mase"] > 0 and first.metrics["backtested_series"] == 3


async def test_a_later_batch_is_promoted_only_when_its_backtest_is_better(
    ray_cluster, make_tenant, owner_pool, database_url
):
    tenant = await make_tenant()
    await stock_history(owner_pool, tenant, days=90)
    kwargs = {"freq": "D", "horizon": 7, "tenant_ids": [tenant.id], "profile": "fast"}
    (first,) = await run_batch(database_url, as_of=AS_OF - timedelta(days=1), **kwargs)
    (second,) = await run_batch(database_url, as_of=AS_OF, **kwargs)
    assert second.version == 2
    better = second.metrics["mase"] < first.metrics["mase"]
    assert second.promoted == better
    assert ("beats" if better else "does not beat") in second.promotion


def test_forecast_command_writes_every_series_with_quantiles_and_models(ray_cluster, tmp_path):
    panel = pd.concat([seasonal_panel(n_series=2), intermittent_panel(n_series=1)], ignore_index=True)
    panel = panel.drop(index=[5, 6])  # two missing months in seasonal0, filled with zero demand
    source, target = tmp_path / "history.parquet", tmp_path / "forecasts.csv"
    panel.to_parquet(source)
    result = CliRunner().invoke(
        cli,
        ["forecast", "--input", str(source), "--horizon", "4", "--freq", "MS", "--output", str(target),
         "--quantiles", "0.1,0.5,0.9", "--profile", "fast"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = pd.read_csv(target)
    assert list(out.columns) == ["unique_id", "ds", "yhat", "q0.1", "q0.5", "q0.9", "model"]
    assert out.groupby("unique_id").size().to_dict() == {"seasonal0": 4, "seasonal1": 4, "sparse0": 4}
    assert "3 series, 12 rows" in result.output
    assert "2 missing timestamp(s) filled" in result.output


def test_forecast_command_refuses_a_file_without_the_long_format_columns(tmp_path):
    source = tmp_path / "wide.csv"
    pd.DataFrame({"id": ["a"], "date": ["2024-01-01"], "value": [1.0]}).to_csv(source, index=False)
    result = CliRunner().invoke(
        cli, ["forecast", "--input", str(source), "--horizon", "3", "--output", str(tmp_path / "o.csv")]
    )
    assert result.exit_code == 2
    assert "lacks column(s)" in result.output


def _promoted_files(tmp_path, horizon: int = 14):
    from tests.training.test_covariates import promoted_panel

    panel = promoted_panel(n_series=2, length=120)
    from_end = panel.groupby("unique_id").cumcount(ascending=False)
    history, future = panel[from_end >= horizon], panel[from_end < horizon]
    source, known = tmp_path / "history.csv", tmp_path / "future.csv"
    history.to_csv(source, index=False)
    future.drop(columns="y").to_csv(known, index=False)
    return source, known, future


def test_forecast_command_uses_covariates_with_their_future_values(ray_cluster, tmp_path):
    source, known, future = _promoted_files(tmp_path)
    target = tmp_path / "forecasts.csv"
    result = CliRunner().invoke(
        cli,
        ["forecast", "--input", str(source), "--horizon", "14", "--freq", "D", "--output", str(target),
         "--covariates", "promo", "--future", str(known)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = pd.read_csv(target, parse_dates=["ds"]).merge(future, on=["unique_id", "ds"])
    assert len(out) == 28
    # Promotion days lift demand by half; the forecast must follow the known promotions.
    lift = out.groupby("promo")["yhat"].mean()
    assert lift[1.0] > 1.2 * lift[0.0]


def test_forecast_command_refuses_covariates_without_future_values(tmp_path):
    source, _, _ = _promoted_files(tmp_path)
    result = CliRunner().invoke(
        cli,
        ["forecast", "--input", str(source), "--horizon", "14", "--freq", "D", "--output", str(tmp_path / "o.csv"),
         "--covariates", "promo"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "need --future" in result.output


def test_forecast_command_refuses_a_future_file_that_misses_steps(tmp_path):
    source, known, future = _promoted_files(tmp_path)
    future.drop(columns="y").iloc[:-3].to_csv(known, index=False)
    result = CliRunner().invoke(
        cli,
        ["forecast", "--input", str(source), "--horizon", "14", "--freq", "D", "--output", str(tmp_path / "o.csv"),
         "--covariates", "promo", "--future", str(known)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "miss 3 of 28 forecast step(s)" in result.output


async def test_a_tenant_whose_forecasts_fail_is_reported_the_others_are_forecast_and_a_rerun_completes_it(
    ray_cluster, make_tenant, owner_pool, database_url
):
    broken, healthy = await make_tenant(), await make_tenant()
    for tenant in (broken, healthy):
        await stock_history(owner_pool, tenant)
    kwargs = {"freq": "D", "horizon": 7, "as_of": AS_OF, "profile": "fast", "chunks": 2}
    async with refused_inserts(owner_pool, "demand_forecasts", broken.id, "forecast store refused"):
        failed, forecast = await run_batch(database_url, tenant_ids=[broken.id, healthy.id], **kwargs)
    assert failed.tenant_id == str(broken.id) and "forecast store refused" in (failed.error or "")
    assert forecast.error is None and forecast.rows == 3 * 7 and forecast.promoted

    async def runs_of(tenant) -> list[tuple[int, str, bool]]:
        async with owner_pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT version, status, metrics ? 'error' AS has_error FROM app.forecast_runs WHERE tenant_id = $1",
                tenant.id,
            )
        return [(r["version"], r["status"], r["has_error"]) for r in rows]

    # The broken tenant's run is not left 'running': it failed, and says why.
    assert await runs_of(broken) == [(1, "failed", True)]
    (rerun,) = await run_batch(database_url, tenant_ids=[broken.id], **kwargs)
    assert rerun.error is None and rerun.version == 1 and rerun.rows == 3 * 7
    assert await runs_of(broken) == [(1, "champion", False)]
    async with owner_pool.acquire() as conn:
        stored = await conn.fetchval("SELECT count(*) FROM app.demand_forecasts WHERE tenant_id = $1", broken.id)
    assert stored == 3 * 7


async def test_a_batch_for_a_tenant_that_does_not_exist_is_refused_before_any_work(make_tenant, database_url):
    known = await make_tenant()
    missing = uuid.uuid4()
    with pytest.raises(SystemExit, match=f"no tenant {missing}"):
        await run_batch(database_url, freq="D", horizon=7, as_of=AS_OF, tenant_ids=[known.id, missing])


async def test_a_batch_as_of_a_future_day_is_refused_before_any_work(make_tenant, database_url):
    # Before, a mistyped year padded every history with zeros, promoted the result as fresh, and refused every
    # real night's run as older than it.
    tenant = await make_tenant()
    with pytest.raises(SystemExit, match="is in the future"):
        await run_batch(database_url, freq="D", horizon=7, as_of=datetime.now(UTC) + timedelta(days=400),
                        tenant_ids=[tenant.id])  # fmt: skip
