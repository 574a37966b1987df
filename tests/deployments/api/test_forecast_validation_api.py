"""/ai/forecast/demand's query checks and defaults, in process: they answer before any model is called (or from the
stored forecast), so no Serve is needed. The forecasts themselves: tests/deployments/test_forecast_api.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.copilot.live_rows import add_forecast
from tests.deployments.forecast_rows import first_series
from training.history import period_start

DEMAND = "/api/v1/ai/forecast/demand"


@pytest.mark.parametrize(
    ("params", "code", "location"),
    [
        ({"horizon": 0}, "horizon_out_of_range", ["query", "horizon"]),
        ({"horizon": 105, "freq": "W"}, "horizon_out_of_range", ["query", "horizon"]),
        ({"quantiles": "0.1,1.5"}, "invalid_quantiles", ["query", "quantiles"]),
        ({"quantiles": "low"}, "invalid_quantiles", ["query", "quantiles"]),
        ({"quantiles": "1e-9"}, "invalid_quantiles", ["query", "quantiles"]),
        ({"freq": "h"}, "validation_error", ["query", "freq"]),
    ],
    ids=["horizon-zero", "horizon-above-weekly-limit", "quantile-above-one", "not-a-number", "too-fine", "freq"],
)
async def test_a_bad_horizon_or_quantiles_is_422_with_its_own_code_and_any_other_bad_query_validation_error(
    http, make_tenant, params, code, location
):
    tenant = await make_tenant()
    answer = await http.get(DEMAND, params=first_series(tenant, **params), headers=tenant.headers())
    assert (answer.status_code, answer.json()["code"]) == (422, code), answer.text
    assert [detail["location"] for detail in answer.json()["details"]] == [location]


async def test_a_weekly_request_without_a_horizon_is_served_the_weekly_batchs_13_stored_weeks(
    http, make_tenant, owner_pool
):
    # Before, it asked 28 weeks, longer than the weekly champion stores, and was refitted on every request.
    tenant = await make_tenant()
    this_week = period_start(datetime.now(UTC), "W").date()
    async with owner_pool.acquire() as conn:
        await add_forecast(conn, tenant, 0, this_week, [5.0] * 13, freq="W")
    answer = await http.get(DEMAND, params=first_series(tenant, freq="W"), headers=tenant.headers())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["source"], body["horizon"], len(body["points"])) == ("stored", 13, 13)
