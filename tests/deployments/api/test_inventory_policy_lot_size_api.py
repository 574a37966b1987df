"""/ai/forecast/inventory-policy's order quantity without an ordering cost: a cover in days, not one forecast bucket.

Before 2026-12-07 it was one period's demand, so the same history planned lots of 58.9 daily and 404 weekly, and fill
rates of 0.953 and 0.993. In process (the app's routes with ``InProcessForecast``, real PostgreSQL, no Ray)."""

from __future__ import annotations

import pytest

from tests.deployments.forecast_rows import first_series, post_daily_issues, weekday_demand

POLICY = "/api/v1/ai/forecast/inventory-policy"


async def test_daily_and_weekly_buckets_plan_the_same_lot_without_an_ordering_cost(api, make_tenant, owner_pool):
    t = await make_tenant()
    await post_daily_issues(owner_pool, t, t.products[0], t.warehouses[0], weekday_demand(200))
    found = {}
    for freq in ("D", "W"):
        response = await api.post(POLICY, json=first_series(t, freq=freq, lead_time_days=9), headers=t.headers())
        assert response.status_code == 200, response.json()
        found[freq] = response.json()
    daily, weekly = (found[f]["policy"]["order_quantity"] for f in ("D", "W"))
    assert daily == pytest.approx(weekly, rel=0.05)  # before: 58.9 and 404
    assert found["D"]["policy"]["expected_fill_rate"] == pytest.approx(
        found["W"]["policy"]["expected_fill_rate"], abs=0.01
    )
    assert all("7 days' demand" in found[f]["order_quantity_basis"] for f in ("D", "W"))


async def test_with_an_ordering_cost_the_basis_is_the_eoq(api, make_tenant, owner_pool):
    t = await make_tenant()
    await post_daily_issues(owner_pool, t, t.products[0], t.warehouses[0], weekday_demand(60))
    body = first_series(t, lead_time_days=9, ordering_cost=50, holding_cost_per_unit_year=1)
    result = (await api.post(POLICY, json=body, headers=t.headers())).json()
    assert result["order_quantity_basis"].startswith("EOQ")
