"""/ai/forecast/demand answering from a Ray Train champion's checkpoint (``source: trained``), in process: the
route's database reads for real, the ForecastService's ``trained`` call through ``TrainedModels`` with a small
xgboost booster fitted here standing in for the checkpoint."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx
import numpy as np
import pandas as pd
import pytest

from deployments.api.app import create_api
from deployments.api.deps import ModelHandles
from tests.training.ledger_rows import post_daily_demand
from training.features import FeatureSpec
from training.history import series_id
from training.models.gradient_boosted import GradientBoostedForecaster
from training.planning import forecast_demand
from training.registry import finish_run, promote_if_better, start_run
from training.serving import TrainedModels

DAYS = 60


def booster():
    days = pd.date_range("2025-01-01", periods=DAYS)
    panel = pd.DataFrame({"unique_id": "a", "ds": days, "y": np.arange(DAYS) % 7 + 5.0})
    forecaster = GradientBoostedForecaster(spec=FeatureSpec.for_frequency("D"), n_estimators=20).fit(panel, "D")
    return forecaster._members[0].point


@pytest.fixture(scope="module")
async def api(api_settings) -> AsyncIterator[httpx.AsyncClient]:
    models = TrainedModels(loader=lambda run: booster())
    forecast = SimpleNamespace(
        trained=SimpleNamespace(remote=lambda *args: asyncio.to_thread(models.forecast, *args)),
        forecast=SimpleNamespace(remote=lambda *args, **kw: asyncio.to_thread(forecast_demand, *args, **kw)),
    )
    app = create_api(api_settings, model_handles=ModelHandles(forecast=forecast))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://api") as client,
    ):
        yield client


async def trained_champion(database, tenant, metrics: dict) -> None:
    """An xgboost champion of yesterday's data: too old to serve its stored rows (it has none), so applied now."""
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)

    async def arrange(tx):
        run = await start_run(
            tx.conn, tx.tenant_id, model_name="demand-D", model_type="xgboost", run_key="train/xgboost", freq="D",
            horizon=28, training_end=end, artifact_uri="/checkpoints/xgboost",
        )  # fmt: skip
        await finish_run(tx.conn, tx.tenant_id, run.id, metrics=metrics, series_count=2)
        await promote_if_better(tx.conn, tx.tenant_id, run.id)

    await database.run(tenant.claims(), None, arrange)


async def demand(api, tenant, product) -> dict:
    params = {"product_id": str(product), "warehouse_id": str(tenant.warehouses[0]), "horizon": 7}
    response = await api.get("/api/v1/ai/forecast/demand", params=params, headers=tenant.headers())
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_trained_forecast_reports_its_series_own_holdout_mase_not_the_runs_mean(
    api, database, make_tenant, owner_pool
):
    # Before, every series got the run's mean (0.434 here), printed in the PDF as each product's backtest error.
    tenant = await make_tenant()
    first, second = tenant.products[:2]
    demand_of = [(p, tenant.warehouses[0], np.arange(DAYS) % 7 + 5.0) for p in (first, second)]
    await post_daily_demand(owner_pool, tenant.id, demand_of)
    own = {series_id(first, tenant.warehouses[0]): 0.31, series_id(second, tenant.warehouses[0]): 0.62}
    await trained_champion(database, tenant, {"mase": 0.434, "holdout": "w", "series_mase": own})
    answers = [await demand(api, tenant, product) for product in (first, second)]
    assert [a["source"] for a in answers] == ["trained", "trained"]
    assert [a["backtest_mase"] for a in answers] == [0.31, 0.62]
    assert "holdout MASE on this series 0.310" in answers[0]["reason"]
    assert answers[0]["run"]["metrics"] == {"mase": 0.434, "holdout": "w"}  # thousands of series stay out


async def test_a_series_whose_holdout_error_could_not_be_taken_reports_none_not_the_runs_mean(
    api, database, make_tenant, owner_pool
):
    tenant = await make_tenant()
    await post_daily_demand(owner_pool, tenant.id, [(tenant.products[0], tenant.warehouses[0], np.full(DAYS, 6.0))])
    # A flat series has no in-sample error to scale by: the job records its MASE as NaN, stored as null.
    unscored = {series_id(tenant.products[0], tenant.warehouses[0]): None}
    await trained_champion(database, tenant, {"mase": 0.434, "holdout": "w", "series_mase": unscored})
    answer = await demand(api, tenant, tenant.products[0])
    assert (answer["source"], answer["backtest_mase"]) == ("trained", None)
    assert "holdout MASE on this series not recorded" in answer["reason"]


async def test_a_series_the_run_was_not_trained_on_is_fitted_on_request_not_served_by_the_run(
    api, database, make_tenant, owner_pool
):
    # Before, an xgboost champion served a product with 2 days of sales (4, then 6), far below the 8 horizons of
    # history the train job trains on, as "trained" with an 80% interval of zero width (4.61 to 4.61).
    tenant = await make_tenant()
    trained, new = tenant.products[:2]
    warehouse = tenant.warehouses[0]
    demand_of = [(trained, warehouse, np.arange(DAYS) % 7 + 5.0), (new, warehouse, np.array([4.0, 6.0]))]
    await post_daily_demand(owner_pool, tenant.id, demand_of)
    own = {series_id(trained, warehouse): 0.31}
    await trained_champion(database, tenant, {"mase": 0.434, "holdout": "w", "series_mase": own})
    assert (await demand(api, tenant, trained))["source"] == "trained"
    answer = await demand(api, tenant, new)
    assert (answer["source"], answer["run"]) == ("fitted", None), answer["reason"]
    assert answer["model"] != "xgboost" and "Ray Train" not in answer["reason"]


async def test_a_trained_run_recorded_without_per_series_errors_serves_no_series(
    api, database, make_tenant, owner_pool
):
    # Such a run names no series it was trained on: none is taken for one (the last test showed what that served).
    tenant = await make_tenant()
    await post_daily_demand(owner_pool, tenant.id, [(tenant.products[0], tenant.warehouses[0], np.full(DAYS, 6.0))])
    await trained_champion(database, tenant, {"mase": 0.434, "holdout": "w"})
    answer = await demand(api, tenant, tenant.products[0])
    assert (answer["source"], answer["run"]) == ("fitted", None)
