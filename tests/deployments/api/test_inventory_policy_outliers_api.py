"""/ai/forecast/inventory-policy with one bulk or mistyped issue in the history.

Before 2026-12-07 one issue of 100,000 among ~60 a day made the advice "order 76,157 now" where it had been 611.
In process (the app's routes with ``InProcessForecast``, real PostgreSQL, no Ray)."""

from __future__ import annotations

import pytest

from tests.deployments.forecast_rows import first_series, post_daily_issues, weekday_demand

POLICY = "/api/v1/ai/forecast/inventory-policy"


async def test_one_bulk_issue_is_clipped_before_fitting_and_named(api, make_tenant, owner_pool):
    plain, spiked = await make_tenant(), await make_tenant()
    demand = weekday_demand(120)
    await post_daily_issues(owner_pool, plain, plain.products[0], plain.warehouses[0], demand)
    demand[-4] = 100_000
    await post_daily_issues(owner_pool, spiked, spiked.products[0], spiked.warehouses[0], demand)

    async def policy(tenant, **extra):
        response = await api.post(
            POLICY, json=first_series(tenant, lead_time_days=9, **extra), headers=tenant.headers()
        )
        assert response.status_code == 200, response.json()
        return response.json()

    expected, found = await policy(plain), await policy(spiked)
    assert found["order_now"] == pytest.approx(expected["order_now"], rel=0.25)  # before: 76,157 against 611
    assert found["demand_outliers"]["periods_clipped"] == 1
    assert found["demand_outliers"]["largest"] == 100_000
    assert expected["demand_outliers"] is None
    kept = await policy(spiked, clip_outliers=False)
    assert kept["demand_outliers"] is None and kept["order_now"] > 10 * expected["order_now"]
