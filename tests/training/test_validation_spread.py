"""A trained xgboost champion's interval from what its run stored of its validation window (forecasts and actuals):
nothing fitted per request, the window cut from the training data before the test window."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from tests.training.test_train_job import TrainingMean
from training.features import FeatureSpec
from training.models.gradient_boosted import GradientBoostedForecaster
from training.serving import TrainedModels, TrainedRun
from training.validation_spread import validation_set, validation_window

HORIZON = 28


def poisson_panel(days: int = 196) -> tuple[pd.DatetimeIndex, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2025-06-01", periods=days)
    weekly = np.array([1.0, 1.1, 1.0, 0.9, 1.2, 0.6, 0.4])[dates.dayofweek]
    return dates, {uid: rng.poisson(level * weekly).astype(float) for uid, level in (("a", 20), ("b", 8), ("c", 40))}


def lumpy_weekly_panel(days: int = 252) -> tuple[pd.DatetimeIndex, dict[str, np.ndarray]]:
    """test_trained_intervals_intermittent's panel: steady and lumpy (mostly zero) series with a strong week."""
    rng = np.random.default_rng(3)
    dates = pd.date_range("2025-01-01", periods=days)
    weekly = np.array([1.6, 1.4, 1.2, 1.0, 1.0, 0.4, 0.4])[dates.dayofweek]
    demand = {}
    for i in range(4):
        demand[f"steady{i}"] = rng.poisson(20 * weekly).astype(float)
        demand[f"lumpy{i}"] = ((rng.random(days) < 0.15 * weekly) * rng.integers(1, 30, days)).astype(float)
    return dates, demand


def long_frame(days: pd.DatetimeIndex, demand: dict[str, np.ndarray], end: int) -> pd.DataFrame:
    return pd.concat(pd.DataFrame({"unique_id": u, "ds": days[:end], "y": y[:end]}) for u, y in demand.items())


def fit_booster(panel: pd.DataFrame) -> GradientBoostedForecaster:
    return GradientBoostedForecaster(spec=FeatureSpec.for_frequency("D"), n_estimators=100).fit(panel, "D")


def champion(validation: tuple = ()) -> TrainedRun:
    return TrainedRun("r", 1, "xgboost", "/c", "D", 28, 0.7, trained_on_series=True, validation=validation)


def serve_a(validation: tuple) -> dict:
    days, demand = poisson_panel()
    booster = fit_booster(long_frame(days, demand, 140))
    history = pd.DataFrame({"unique_id": "a", "ds": days[:140], "y": demand["a"][:140]})
    models = TrainedModels(loader=lambda run: booster._members[0].point)
    answer = models.forecast(champion(validation), history, 7, [0.1, 0.9])
    assert answer is not None
    return answer


def test_an_xgboost_champions_interval_scales_its_point_by_the_quantiles_of_the_stored_actual_over_forecast():
    # Before, each request fitted the statistical selection on the series' history (about 1 s) to borrow its spread.
    actual = np.linspace(4.0, 19.0, HORIZON)
    answer = serve_a(tuple((10.0, float(a)) for a in actual))
    assert "actual / forecast, times this forecast" in answer["reason"] and "fitted selection" not in answer["reason"]
    low, high = np.quantile(actual / 10.0, 0.1), np.quantile(actual / 10.0, 0.9)
    for point in answer["points"]:
        assert point["quantiles"]["0.1"] == pytest.approx(point["yhat"] * low)
        assert point["quantiles"]["0.9"] == pytest.approx(point["yhat"] * high)
    # As documented: the 10-90% interval holds 80% of the stored window's actual / forecast.
    assert np.mean((actual / 10.0 >= low) & (actual / 10.0 <= high)) == pytest.approx(0.8, abs=0.05)


def test_a_stored_forecast_near_zero_moves_the_point_by_the_quantiles_of_the_errors_instead():
    stored = ((0.0, 2.0), *((10.0, float(a)) for a in np.linspace(4.0, 19.0, HORIZON - 1)))
    answer = serve_a(stored)
    assert "actual - forecast, added to this forecast" in answer["reason"]
    errors = [a - f for f, a in stored]
    for point in answer["points"]:
        assert point["quantiles"]["0.9"] == pytest.approx(point["yhat"] + np.quantile(errors, 0.9))


def test_a_series_without_a_stored_validation_window_gets_the_fitted_spread_and_its_reason_says_so():
    answer = serve_a(())
    assert "fitted selection" in answer["reason"] and "kept no validation window for this series" in answer["reason"]


def test_the_validation_window_is_forecast_by_a_fit_without_it_on_the_steps_before_the_test_window():
    # The train job passes its training data (the test window already cut off): the window is its last steps.
    train = pd.DataFrame(
        {"unique_id": np.repeat(["a", "b"], 10), "ds": np.tile(pd.date_range("2025-01-01", periods=10), 2),
         "y": np.r_[np.arange(10.0), np.full(10, 5.0)]}
    )  # fmt: skip
    earlier = validation_set("xgboost", train, 3)
    assert earlier is not None and earlier.groupby("unique_id")["ds"].max().dt.day.tolist() == [7, 7]
    stored = validation_window(train, 3, TrainingMean(earlier))["series_validation"]
    assert stored == {"a": {"yhat": [3.0] * 3, "y": [7.0, 8.0, 9.0]}, "b": {"yhat": [5.0] * 3, "y": [5.0] * 3}}
    # A model that saw the window forecasts the steps after it: nothing of the window to keep.
    assert validation_window(train, 3, TrainingMean(train)) == {"series_validation": {}}
    # DeepAR has its own quantiles: nothing more to fit, nothing kept.
    assert validation_set("deepar", train, 3) is None and validation_window(train, 3, None) == {}


@pytest.mark.parametrize(
    ("panel", "trained_on", "most_below"), [(poisson_panel, 140, 0.15), (lumpy_weekly_panel, 168, 0.12)],
    ids=["poisson", "lumpy-weekly"],
)  # fmt: skip
def test_intervals_from_a_runs_validation_window_cover_about_80_percent_of_the_demand_that_followed(
    panel, trained_on, most_below
):
    days, demand = panel()
    train = long_frame(days, demand, trained_on)
    stored = validation_window(train, HORIZON, fit_booster(validation_set("xgboost", train, HORIZON)))
    booster = fit_booster(train)
    models = TrainedModels(loader=lambda run: booster._members[0].point)
    inside, below = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for uid, y in demand.items():
            window = stored["series_validation"][uid]
            run = champion(tuple(zip(window["yhat"], window["y"], strict=True)))
            for origin in range(trained_on, len(days) - HORIZON + 1, HORIZON):
                history = pd.DataFrame({"unique_id": uid, "ds": days[:origin], "y": y[:origin]})
                answer = models.forecast(run, history, HORIZON, [0.1, 0.5, 0.9])
                assert answer is not None and "validation window" in answer["reason"]
                for point, actual in zip(answer["points"], y[origin : origin + HORIZON], strict=True):
                    inside.append(point["quantiles"]["0.1"] <= actual <= point["quantiles"]["0.9"])
                    below.append(actual < point["quantiles"]["0.1"])
    assert 0.7 <= np.mean(inside) <= 0.92, f"10-90% coverage {np.mean(inside):.3f} on {len(inside)} held-out days"
    assert np.mean(below) <= most_below, f"{np.mean(below):.3f} of {len(below)} held-out days below the 10% bound"
