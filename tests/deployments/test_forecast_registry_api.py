"""/ai/forecast and the model registry through Serve: a fresh champion is served from the registry, accuracy
scores matured forecasts, and a Ray Train DeepAR that beats the statistical selection is promoted and served."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from tests.deployments.forecast_rows import first_series, post_daily_issues, weekday_demand
from tests.training.ledger_rows import add_products, post_daily_demand
from training.compute import TrainCompute
from training.forecast_store import write_forecasts
from training.history import period_start
from training.registry import finish_run, promote_if_better, start_run
from training.train_job import train_and_register

BASE = "/api/v1/ai/forecast"


async def test_fresh_champion_forecast_is_served_from_the_registry_unless_refresh(
    http, make_tenant, owner_pool, database
):
    t = await make_tenant()
    await post_daily_issues(owner_pool, t, t.products[0], t.warehouses[0], weekday_demand(60))
    boundary = period_start(datetime.now(UTC), "D").tz_localize(UTC).to_pydatetime()
    stored = pd.DataFrame(
        {
            "product_id": t.products[0],
            "warehouse_id": t.warehouses[0],
            "ds": pd.date_range(boundary.replace(tzinfo=None), periods=30, freq="D"),
            "yhat": 42.0,
            "q0.1": 40.0,
            "q0.5": 42.0,
            "q0.9": 44.0,
            "model": "auto_ets",
        }
    )

    async def arrange(tx):
        run = await start_run(
            tx.conn, tx.tenant_id, model_name="demand-D", model_type="auto", run_key="nightly", freq="D", horizon=30,
            training_end=boundary,
        )  # fmt: skip
        await write_forecasts(tx.conn, tx.tenant_id, run.id, stored)
        await finish_run(tx.conn, tx.tenant_id, run.id, metrics={"mase": 0.8}, series_count=1)
        await promote_if_better(tx.conn, tx.tenant_id, run.id)

    await database.run(t.claims(), None, arrange)
    params = first_series(t, horizon=10)
    body = (await http.get(f"{BASE}/demand", params=params, headers=t.headers())).json()
    assert body["source"] == "stored" and body["model"] == "auto_ets"
    assert body["run"]["version"] == 1 and "champion run v1" in body["reason"]
    assert [p["yhat"] for p in body["points"]] == [42.0] * 10
    refreshed = (await http.get(f"{BASE}/demand", params={**params, "refresh": "true"}, headers=t.headers())).json()
    assert refreshed["source"] == "fitted"
    runs = (await http.get(f"{BASE}/runs", headers=t.headers())).json()
    assert [(r["version"], r["status"]) for r in runs] == [(1, "champion")]


async def test_accuracy_scores_matured_stored_forecasts_and_flags_drift(http, make_tenant, owner_pool, database):
    t = await make_tenant()
    demand = np.full(30, 10.0)
    await post_daily_issues(owner_pool, t, t.products[0], t.warehouses[0], demand)
    today = period_start(datetime.now(UTC), "D")
    # A run from ten days ago that forecast twice the demand that then happened.
    stored = pd.DataFrame(
        {
            "product_id": t.products[0],
            "warehouse_id": t.warehouses[0],
            "ds": pd.date_range(today - pd.Timedelta(days=10), periods=14, freq="D"),
            "yhat": 20.0,
            "model": "auto_ets",
        }
    )

    async def arrange(tx):
        run = await start_run(
            tx.conn, tx.tenant_id, model_name="demand-D", model_type="auto", run_key="old", freq="D", horizon=14
        )
        await write_forecasts(tx.conn, tx.tenant_id, run.id, stored)
        await finish_run(tx.conn, tx.tenant_id, run.id, metrics={"mase": 0.5}, series_count=1)

    await database.run(t.claims(), None, arrange)
    body = (await http.get(f"{BASE}/accuracy", headers=t.headers())).json()
    assert body["drift"] is True
    (run,) = body["runs"]
    assert run["points"] == run["periods"] == 10 and run["bias"] == pytest.approx(1.0)
    assert any("over actual demand" in reason for reason in run["reasons"])
    empty = await make_tenant()
    assert (await http.get(f"{BASE}/accuracy", headers=empty.headers())).json() == {
        "model_name": "demand-D",
        "drift": False,
        "runs": [],
    }


def shared_pulse_demand(series: int, days: int = 150, seed: int = 0) -> list[np.ndarray]:
    """Every series peaks once every 10 days (each at its own phase and scale): a pattern the statistical
    selection (weekly seasonality at most) cannot express and a global network learns from all series."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(series):
        peak = (np.arange(days) + rng.integers(0, 10)) % 10 == 9
        out.append(np.maximum(np.round((5 + 3 * i) * np.where(peak, 9.0, 1.0) + rng.normal(0, 0.5, days)), 0))
    return out


@pytest.mark.slow
async def test_a_ray_train_deepar_that_beats_the_statistical_selection_is_promoted_and_served_by_name(
    http, make_tenant, owner_pool, settings, tmp_path
):
    t = await make_tenant()
    products = [*t.products, *await add_products(owner_pool, t.id, 10)]
    demand = shared_pulse_demand(len(products))
    await post_daily_demand(owner_pool, t.id, [(p, t.warehouses[0], d) for p, d in zip(products, demand, strict=True)])

    async def train() -> dict:
        (outcome,) = await train_and_register(
            str(settings.database_url), t.id, freq="D", horizon=7, compute=TrainCompute(workers=2), epochs=3,
            kinds=["deepar"], as_of=datetime.now(UTC), storage_path=str(tmp_path),
        )  # fmt: skip
        return outcome

    started = datetime.now(UTC).date()
    outcome = await train()
    if datetime.now(UTC).date() != started:  # past midnight UTC: a run on yesterday's data is rightly stale now
        outcome = await train()
    assert outcome["mase"] < outcome["statistical_mase"], outcome
    assert outcome["promoted"] and "beats the statistical selection" in outcome["reason"]

    params = {"product_id": str(products[3]), "warehouse_id": str(t.warehouses[0]), "horizon": 7}
    response = await http.get(f"{BASE}/demand", params=params, headers=t.headers())
    body = response.json()
    assert response.status_code == 200, body
    assert (body["source"], body["model"]) == ("stored", "deepar")
    assert body["run"]["id"] == outcome["run_id"] and body["run"]["model_type"] == "deepar"
    assert body["run"]["status"] == "champion" and f"champion run v{outcome['version']} (deepar" in body["reason"]
    assert len(body["points"]) == 7
    # Asked to forecast now, the ForecastService applies the champion's checkpoint to the latest history.
    refreshed = await http.get(f"{BASE}/demand", params={**params, "refresh": "true"}, headers=t.headers())
    body = refreshed.json()
    assert refreshed.status_code == 200, body
    assert (body["source"], body["model"], body["run"]["id"]) == ("trained", "deepar", outcome["run_id"])
    assert "forecast now from its checkpoint" in body["reason"] and len(body["points"]) == 7
