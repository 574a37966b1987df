"""Demand per period read off a forecast: the mean over the protection interval, the sd from its quantiles."""

import numpy as np
import pandas as pd
import pytest

from training.demand_rate import demand_rate_from_forecast
from training.errors import ForecastInputError


def test_demand_rate_from_forecast_reads_the_one_step_error_from_the_quantiles():
    forecast = pd.DataFrame(
        {
            "unique_id": "a",
            "ds": pd.date_range("2024-01-01", periods=4, freq="W"),
            "yhat": [10.0, 12.0, 14.0, 100.0],
            # 1.2816 * 2 = 2.563 sd wide on the first step: sd = 5.
            "q0.1": [10 - 1.28155 * 5, 0, 0, 0],
            "q0.9": [10 + 1.28155 * 5, 99, 99, 99],
        }
    )
    rate, source = demand_rate_from_forecast(forecast, periods=2.5)
    assert rate.mean == pytest.approx(12.0)  # mean of the first three steps
    assert rate.sd == pytest.approx(5.0, abs=1e-3)
    assert "0.1-0.9" in source
    rate, source = demand_rate_from_forecast(forecast, periods=1, residual_sd=2.0)
    assert (rate.mean, rate.sd, source) == (10.0, 2.0, "residual standard deviation")


def test_demand_rate_from_a_forecast_without_intervals_needs_a_residual_sd():
    forecast = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2024-01-01", periods=3), "yhat": np.ones(3)})
    with pytest.raises(ForecastInputError, match="residual_sd"):
        demand_rate_from_forecast(forecast, periods=2)
    with pytest.raises(ForecastInputError, match="covers 3 periods"):
        demand_rate_from_forecast(forecast, periods=5, residual_sd=1.0)


def test_a_lower_quantile_clipped_at_zero_leaves_the_sd_to_the_upper_one():
    # One step of N(10, 20): q0.1 = -15.6, kept as 0 by the clip; the pair read sd 13.9 and safety stock 30% low.
    forecast = pd.DataFrame(
        {"unique_id": "a", "ds": pd.date_range("2024-01-01", periods=2), "yhat": [10.0, 10.0],
         "q0.1": [0.0, 0.0], "q0.9": [10 + 1.28155 * 20, 10 + 1.28155 * 20]}
    )  # fmt: skip
    rate, source = demand_rate_from_forecast(forecast, periods=1)
    assert rate.sd == pytest.approx(20.0, abs=1e-3)
    assert source == "one-step quantile 0.9 above the forecast (0.1 is clipped at 0)"


def test_intermittent_quantiles_under_a_positive_forecast_leave_the_sd_to_the_history_when_it_is_larger():
    # Croston/TSB on demand zero in 85% of days: q0.1 and the median are 0 and q0.9 sits just above the mean, so
    # the upper half read sd 0.61 against the history's 6.1 (before, the history stood in only at an sd of 0).
    forecast = pd.DataFrame(
        {"unique_id": "a", "ds": pd.date_range("2024-01-01", periods=2), "yhat": [2.2, 2.2],
         "q0.1": [0.0, 0.0], "q0.5": [0.0, 0.0], "q0.9": [3.0, 3.0]}
    )  # fmt: skip
    rate, source = demand_rate_from_forecast(forecast, periods=1, history_sd=6.1)
    assert rate.sd >= 6.1
    assert source == "the history's per-period sd (the one-step quantiles 0.1 and 0.5 are 0: intermittent demand)"
