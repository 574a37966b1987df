"""/ai/forecast/demand's query checks, in process: they answer before any model is called, so no Serve is needed.
The forecasts themselves: tests/deployments/test_forecast_api.py."""

from __future__ import annotations

import pytest

from tests.deployments.forecast_rows import first_series

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
