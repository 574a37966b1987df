"""/ai/forecast through Serve: the ingress reads under RLS, the ForecastService deployment fits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from tests.training.ledger_rows import add_products, post_daily_demand
from training.compute import TrainCompute
from training.forecast_store import write_forecasts
from training.history import period_start
from training.registry import finish_run, promote_if_better, start_run
from training.train_job import train_and_register

pytestmark = [pytest.mark.serve]

BASE = "/api/v1/ai/forecast"


async def post_daily_issues(owner_pool, tenant, product, warehouse, demand):
    """Stock once, then one issue per day with ``demand[i]`` units, ending yesterday."""
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=len(demand))
    rows = [(tenant.id, product, warehouse, "receipt", Decimal(int(sum(demand)) + 10), start - timedelta(hours=1))]
    rows += [
        (tenant.id, product, warehouse, "issue", Decimal(-int(q)), start + timedelta(days=i))
        for i, q in enumerate(demand)
        if q > 0
    ]
    async with owner_pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO app.stock_movements (tenant_id, product_id, warehouse_id, movement_type, quantity, "
            "occurred_at) VALUES ($1, $2, $3, $4, $5, $6)",
            rows,
        )


def weekday_demand(days=200, seed=0):
    rng = np.random.default_rng(seed)
    weekday = pd.date_range(end=datetime.now(UTC).date() - timedelta(days=1), periods=days, freq="D").dayofweek
    return np.maximum(np.round(40 + 25 * (weekday < 5) + rng.normal(0, 4, days)), 0)


@pytest.fixture(scope="module")
async def planner_tenant(make_tenant, owner_pool):
    tenant = await make_tenant()
    await post_daily_issues(owner_pool, tenant, tenant.products[0], tenant.warehouses[0], weekday_demand())
    return tenant


async def test_demand_forecast_is_fitted_with_monotone_non_negative_intervals(http, planner_tenant):
    t = planner_tenant
    response = await http.get(
        f"{BASE}/demand",
        params={"product_id": str(t.products[0]), "warehouse_id": str(t.warehouses[0]), "horizon": 14},
        headers=t.headers(),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == "fitted"
    assert body["model"] in {"auto_ets", "auto_theta", "dynamic_theta", "auto_ces", "seasonal_naive", "ensemble"}
    assert body["reason"] and body["candidates"]
    assert body["history_length"] == 200
    points = body["points"]
    assert len(points) == 14
    assert points[0]["ds"].startswith(datetime.now(UTC).date().isoformat())
    for p in points:
        q = p["quantiles"]
        assert 0 <= q["0.1"] <= q["0.5"] <= q["0.9"]
    # The weekday pattern is learnt: weekdays forecast above weekends.
    by_day = {pd.Timestamp(p["ds"]).dayofweek: p["yhat"] for p in points[:7]}
    assert min(by_day[d] for d in range(5)) > max(by_day[5], by_day[6])


async def test_unknown_product_or_warehouse_is_404(http, planner_tenant):
    t = planner_tenant
    for params, code in (
        ({"product_id": str(uuid.uuid4()), "warehouse_id": str(t.warehouses[0])}, "unknown_product"),
        ({"product_id": str(t.products[0]), "warehouse_id": str(uuid.uuid4())}, "unknown_warehouse"),
    ):
        response = await http.get(f"{BASE}/demand", params=params, headers=t.headers())
        assert (response.status_code, response.json()["code"]) == (404, code)


async def test_another_tenants_product_is_404_not_a_forecast(http, planner_tenant, make_tenant):
    stranger = await make_tenant()
    t = planner_tenant
    response = await http.get(
        f"{BASE}/demand",
        params={"product_id": str(t.products[0]), "warehouse_id": str(t.warehouses[0])},
        headers=stranger.headers(),
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("params", "location"),
    [
        ({"horizon": 0}, "horizon"),
        ({"horizon": -3}, "horizon"),
        ({"horizon": 367}, "horizon"),
        ({"horizon": 105, "freq": "W"}, "horizon"),
        ({"quantiles": "0.1,1.5"}, "quantiles"),
        ({"quantiles": "low"}, "quantiles"),
        ({"freq": "h"}, "freq"),
    ],
    ids=["zero", "negative", "above-daily-limit", "above-weekly-limit", "quantile-above-one", "not-a-number", "freq"],
)
async def test_bad_horizon_quantiles_or_frequency_is_422(http, planner_tenant, params, location):
    t = planner_tenant
    query = {"product_id": str(t.products[0]), "warehouse_id": str(t.warehouses[0]), **params}
    response = await http.get(f"{BASE}/demand", params=query, headers=t.headers())
    assert response.status_code == 422, response.text
    assert location in str(response.json()["details"])


async def test_short_series_falls_back_to_theta_and_says_so(http, make_tenant, owner_pool):
    # Five points: too few to backtest or combine (7); simple exponential smoothing with drift
    # (dynamic Theta) beat naive on the short M1 validation series.
    t = await make_tenant()
    await post_daily_issues(owner_pool, t, t.products[0], t.warehouses[0], np.array([5, 7, 6, 8, 5.0]))
    response = await http.get(
        f"{BASE}/demand",
        params={"product_id": str(t.products[0]), "warehouse_id": str(t.warehouses[0]), "horizon": 7},
        headers=t.headers(),
    )
    body = response.json()
    assert response.status_code == 200, body
    assert body["model"] == "dynamic_theta"
    assert body["reason"] == "fallback: 5 observations, a combination needs 7; dynamic_theta"


async def test_all_zero_demand_and_no_history_forecast_zero_with_the_fallback_named(http, make_tenant, owner_pool):
    t = await make_tenant()
    # Stocked at warehouse 0 two weeks ago and never issued; nothing at all at warehouse 1.
    await post_daily_issues(owner_pool, t, t.products[0], t.warehouses[0], np.zeros(14))
    for warehouse, reason in ((t.warehouses[0], "no demand in"), (t.warehouses[1], "no demand history")):
        response = await http.get(
            f"{BASE}/demand",
            params={"product_id": str(t.products[0]), "warehouse_id": str(warehouse), "horizon": 5},
            headers=t.headers(),
        )
        body = response.json()
        assert response.status_code == 200, body
        assert body["model"] == "zero" and reason in body["reason"]
        assert [p["yhat"] for p in body["points"]] == [0.0] * 5


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
    params = {"product_id": str(t.products[0]), "warehouse_id": str(t.warehouses[0]), "horizon": 10}
    body = (await http.get(f"{BASE}/demand", params=params, headers=t.headers())).json()
    assert body["source"] == "stored" and body["model"] == "auto_ets"
    assert body["run"]["version"] == 1 and "champion run v1" in body["reason"]
    assert [p["yhat"] for p in body["points"]] == [42.0] * 10
    refreshed = (await http.get(f"{BASE}/demand", params={**params, "refresh": "true"}, headers=t.headers())).json()
    assert refreshed["source"] == "fitted"
    runs = (await http.get(f"{BASE}/runs", headers=t.headers())).json()
    assert [(r["version"], r["status"]) for r in runs] == [(1, "champion")]


async def test_seasonal_analysis_finds_the_weekly_cycle_of_daily_demand(http, planner_tenant):
    t = planner_tenant
    response = await http.get(
        f"{BASE}/seasonality",
        params={"product_id": str(t.products[0]), "warehouse_id": str(t.warehouses[0]), "freq": "D"},
        headers=t.headers(),
    )
    body = response.json()
    assert response.status_code == 200, body
    assert body["detected_periods"] == [7]
    assert body["seasonal_strength"] > 0.6
    assert len(body["components"]["trend"]) == body["observations"] == 200


async def test_seasonal_analysis_without_any_movement_is_404(http, planner_tenant):
    t = planner_tenant
    response = await http.get(
        f"{BASE}/seasonality",
        params={"product_id": str(t.products[1]), "warehouse_id": str(t.warehouses[1])},
        headers=t.headers(),
    )
    assert (response.status_code, response.json()["code"]) == (404, "no_history")


async def make_supplier_with_orders(owner_pool, tenant, lead_times_days, nominal=10):
    issued = datetime.now(UTC) - timedelta(days=200)
    async with owner_pool.acquire() as conn:
        supplier = await conn.fetchval(
            "INSERT INTO app.suppliers (tenant_id, code, name, lead_time_days) VALUES ($1, $2, 'S', $3) RETURNING id",
            tenant.id,
            f"S{uuid.uuid4().hex[:6]}",
            nominal,
        )
        for i, days in enumerate(lead_times_days):
            at = issued + timedelta(days=5 * i)
            po = await conn.fetchval(
                "INSERT INTO app.purchase_orders (tenant_id, supplier_id, warehouse_id, currency, expected_date, "
                "issued_at) VALUES ($1, $2, $3, 'EUR', $4, $5) RETURNING id",
                tenant.id,
                supplier,
                tenant.warehouses[0],
                (at + timedelta(days=nominal)).date(),
                at,
            )
            await conn.execute("UPDATE app.purchase_orders SET status = 'issued' WHERE id = $1", po)
            await conn.execute(
                "INSERT INTO app.purchase_receipts (tenant_id, purchase_order_id, received_at) VALUES ($1, $2, $3)",
                tenant.id,
                po,
                at + timedelta(days=days),
            )
    return supplier


async def test_supply_prediction_reports_the_lead_time_distribution_and_on_time_odds(http, make_tenant, owner_pool):
    t = await make_tenant()
    supplier = await make_supplier_with_orders(owner_pool, t, [8, 9, 10, 11, 12, 9, 10, 14, 10, 9, 11, 10])
    body = (await http.get(f"{BASE}/supply", params={"supplier_id": str(supplier)}, headers=t.headers())).json()
    lead = body["lead_time"]
    assert lead["receipts"] == 12 and lead["basis"] == "history"
    assert lead["mean_days"] == pytest.approx(10.25, abs=0.01)
    assert 0.6 < lead["on_time_probability"] < 0.95  # 10 of 12 on time, Laplace: 11/14
    assert lead["quantiles_days"]["p10"] <= lead["quantiles_days"]["p90"]


async def test_supplier_without_receipts_degrades_to_its_nominal_lead_time(http, make_tenant, owner_pool):
    t = await make_tenant()
    supplier = await make_supplier_with_orders(owner_pool, t, [], nominal=21)
    body = (await http.get(f"{BASE}/supply", params={"supplier_id": str(supplier)}, headers=t.headers())).json()
    assert body["lead_time"]["basis"] == "nominal" and body["lead_time"]["mean_days"] == 21
    missing = await http.get(f"{BASE}/supply", params={"supplier_id": str(uuid.uuid4())}, headers=t.headers())
    assert (missing.status_code, missing.json()["code"]) == (404, "unknown_supplier")


async def test_inventory_policy_from_the_forecast_and_supplier_history(http, planner_tenant, owner_pool):
    t = planner_tenant
    supplier = await make_supplier_with_orders(owner_pool, t, [6, 7, 8, 7, 9, 7, 6, 8, 7, 7, 8, 6])
    payload = {
        "product_id": str(t.products[0]),
        "warehouse_id": str(t.warehouses[0]),
        "supplier_id": str(supplier),
        "service_level": 0.95,
        "ordering_cost": 40,
        "holding_cost_per_unit_year": 3.0,
    }
    response = await http.post(f"{BASE}/inventory-policy", json=payload, headers=t.headers(t.viewer))
    body = response.json()
    assert response.status_code == 200, body
    policy = body["policy"]
    assert body["lead_time_source"] == "supplier history"
    assert policy["lead_time_periods"] == pytest.approx(7.17, abs=0.01)
    assert policy["safety_stock"] > 0 and policy["reorder_point"] > policy["lead_time_demand"]
    assert policy["eoq"] == pytest.approx((2 * body["demand_per_period"] * 40 / (3.0 / 365)) ** 0.5, rel=1e-6)
    assert body["simulation"]["cycles"] == 20_000
    assert body["recommended_reorder_point"] >= policy["reorder_point"] - 1e-9 or body["simulation"]["meets_target"]


async def test_inventory_policy_without_any_lead_time_is_a_clear_400(http, planner_tenant):
    t = planner_tenant
    payload = {"product_id": str(t.products[0]), "warehouse_id": str(t.warehouses[0])}
    response = await http.post(f"{BASE}/inventory-policy", json=payload, headers=t.headers())
    assert (response.status_code, response.json()["code"]) == (400, "lead_time_unknown")


async def test_inventory_policy_refuses_an_impossible_service_level(http, planner_tenant):
    t = planner_tenant
    payload = {"product_id": str(t.products[0]), "warehouse_id": str(t.warehouses[0]), "service_level": 1.0}
    response = await http.post(f"{BASE}/inventory-policy", json=payload, headers=t.headers())
    assert response.status_code == 422


async def test_forecast_routes_need_a_token(http, planner_tenant):
    response = await http.get(f"{BASE}/runs")
    assert response.status_code == 401


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
    assert run["points"] == 10 and run["bias"] == pytest.approx(1.0)
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

    (outcome,) = await train_and_register(
        str(settings.database_url), t.id, freq="D", horizon=7, compute=TrainCompute(workers=2), epochs=3,
        kinds=["deepar"], as_of=datetime.now(UTC), storage_path=str(tmp_path),
    )  # fmt: skip
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
