"""/ai/forecast/demand through Serve: the ingress reads under RLS, the ForecastService deployment fits; 404s,
422s, fallbacks for short or empty histories, and who may force a refit. Seasonality, supply and policy:
test_planning_api.py; the registry's champions and accuracy: test_forecast_registry_api.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from tests.deployments.forecast_rows import first_series, post_daily_issues

BASE = "/api/v1/ai/forecast"


async def test_demand_forecast_is_fitted_with_monotone_non_negative_intervals(http, planner_tenant):
    t = planner_tenant
    response = await http.get(f"{BASE}/demand", params=first_series(t, horizon=14), headers=t.headers())
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
    response = await http.get(f"{BASE}/demand", params=first_series(t), headers=stranger.headers())
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
        ({"quantiles": "0.000000001"}, "quantiles"),  # a 100% interval: statsforecast's ValueError was a 500
        ({"quantiles": "0.1,0.4999999999"}, "quantiles"),  # a 0% interval, the same
        ({"freq": "h"}, "freq"),
    ],
    ids=[
        "zero",
        "negative",
        "above-daily-limit",
        "above-weekly-limit",
        "quantile-above-one",
        "not-a-number",
        "quantile-of-a-100%-interval",
        "quantile-of-a-0%-interval",
        "freq",
    ],
)
async def test_bad_horizon_quantiles_or_frequency_is_422(http, planner_tenant, params, location):
    t = planner_tenant
    query = first_series(t, **params)
    response = await http.get(f"{BASE}/demand", params=query, headers=t.headers())
    assert response.status_code == 422, response.text
    assert location in str(response.json()["details"])


async def test_short_series_falls_back_to_theta_and_says_so(http, make_tenant, owner_pool):
    # Five points: too few to backtest or combine (7); simple exponential smoothing with drift
    # (dynamic Theta) beat naive on the short M1 validation series.
    t = await make_tenant()
    await post_daily_issues(owner_pool, t, t.products[0], t.warehouses[0], np.array([5, 7, 6, 8, 5.0]))
    response = await http.get(f"{BASE}/demand", params=first_series(t, horizon=7), headers=t.headers())
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


async def test_viewer_cannot_force_a_forecast_refit(http, make_tenant):
    tenant = await make_tenant()
    params = {"product_id": str(tenant.products[0]), "warehouse_id": str(tenant.warehouses[0]), "refresh": "true"}
    viewer = await http.get("/api/v1/ai/forecast/demand", params=params, headers=tenant.headers(tenant.viewer))
    assert viewer.status_code == 403, viewer.text
    assert "refresh=true" in viewer.json()["message"]
    planner = await http.get("/api/v1/ai/forecast/demand", params=params, headers=tenant.headers())
    assert planner.status_code == 200, planner.text


async def test_forecast_routes_need_a_token(http, planner_tenant):
    response = await http.get(f"{BASE}/runs")
    assert response.status_code == 401
