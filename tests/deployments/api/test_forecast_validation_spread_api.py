"""/ai/forecast/demand from an xgboost champion whose run stored the series' validation window: the interval is
the booster's forecast scaled by its quantiles of actual / forecast, with no fit per request; the window stays out of
the run's record."""

from __future__ import annotations

import numpy as np
import pytest

from tests.deployments.api.test_forecast_trained_api import DAYS, api, demand, trained_champion  # noqa: F401
from tests.training.ledger_rows import post_daily_demand
from training.history import series_id


async def test_a_trained_series_with_a_stored_validation_window_is_served_with_its_quantiles_as_its_interval(
    api,  # noqa: F811
    database,
    make_tenant,
    owner_pool,
):
    # Before, every request fitted the statistical selection on the series (about 1 s) to borrow its interval.
    tenant = await make_tenant()
    stored, bare = tenant.products[:2]
    warehouse = tenant.warehouses[0]
    await post_daily_demand(owner_pool, tenant.id, [(p, warehouse, np.arange(DAYS) % 7 + 5.0) for p in (stored, bare)])
    actual = [3.0, 5.0, 6.0, 6.5, 7.0, 8.0, 10.0]  # against a forecast of 6 each day
    metrics = {
        "mase": 0.434, "holdout": "w", "series_mase": {series_id(p, warehouse): 0.3 for p in (stored, bare)},
        "series_validation": {series_id(stored, warehouse): {"yhat": [6.0] * 7, "y": actual}},
    }  # fmt: skip
    await trained_champion(database, tenant, metrics)
    answer = await demand(api, tenant, stored)
    assert answer["source"] == "trained" and "validation window" in answer["reason"]
    assert answer["run"]["metrics"] == {"mase": 0.434, "holdout": "w"}
    for point in answer["points"]:
        assert point["quantiles"]["0.1"] == pytest.approx(point["yhat"] * np.quantile(np.array(actual) / 6.0, 0.1))
        assert point["quantiles"]["0.9"] == pytest.approx(point["yhat"] * np.quantile(np.array(actual) / 6.0, 0.9))
    other = await demand(api, tenant, bare)
    assert other["source"] == "trained" and "kept no validation window for this series" in other["reason"]
