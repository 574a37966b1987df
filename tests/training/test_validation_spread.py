"""A trained xgboost champion's interval from the errors its run stored on its validation window: nothing fitted per
request, the window cut from the training data before the test window."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from tests.training.test_train_job import TrainingMean
from training.features import FeatureSpec
from training.models.gradient_boosted import GradientBoostedForecaster
from training.serving import TrainedModels, TrainedRun
from training.validation_spread import validation_errors

DAYS, TRAINED_ON, HORIZON = 196, 140, 28


def poisson_panel() -> tuple[pd.DatetimeIndex, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    days = pd.date_range("2025-06-01", periods=DAYS)
    weekly = np.array([1.0, 1.1, 1.0, 0.9, 1.2, 0.6, 0.4])[days.dayofweek]
    return days, {uid: rng.poisson(level * weekly).astype(float) for uid, level in (("a", 20), ("b", 8), ("c", 40))}


def long_frame(days: pd.DatetimeIndex, demand: dict[str, np.ndarray], end: int) -> pd.DataFrame:
    return pd.concat(pd.DataFrame({"unique_id": u, "ds": days[:end], "y": y[:end]}) for u, y in demand.items())


def fit_booster(panel: pd.DataFrame) -> GradientBoostedForecaster:
    return GradientBoostedForecaster(spec=FeatureSpec.for_frequency("D"), n_estimators=100).fit(panel, "D")


def test_an_xgboost_champions_interval_is_its_point_plus_the_quantiles_of_the_series_stored_validation_errors():
    # Before, each request fitted the statistical selection on the series' history (about 1 s) to borrow its spread.
    days, demand = poisson_panel()
    booster = fit_booster(long_frame(days, demand, TRAINED_ON))
    stored = tuple(float(e) for e in np.linspace(-6.0, 9.0, HORIZON))
    champion = TrainedRun("r", 1, "xgboost", "/c", "D", 28, 0.7, trained_on_series=True, validation_errors=stored)
    history = pd.DataFrame({"unique_id": "a", "ds": days[:TRAINED_ON], "y": demand["a"][:TRAINED_ON]})
    answer = TrainedModels(loader=lambda run: booster._members[0].point).forecast(champion, history, 7, [0.1, 0.9])
    assert answer is not None
    assert "errors on this series' validation window" in answer["reason"] and "fitted selection" not in answer["reason"]
    low, high = np.quantile(stored, 0.1), np.quantile(stored, 0.9)
    for point in answer["points"]:
        assert point["quantiles"]["0.1"] == pytest.approx(max(point["yhat"] + low, 0.0))
        assert point["quantiles"]["0.9"] == pytest.approx(point["yhat"] + high)
    # As documented: the 10-90% interval around a forecast holds 80% of the stored errors.
    assert np.mean((np.array(stored) >= low) & (np.array(stored) <= high)) == pytest.approx(0.8, abs=0.05)


def test_a_series_without_stored_validation_errors_gets_the_fitted_spread_and_its_reason_says_so():
    days, demand = poisson_panel()
    booster = fit_booster(long_frame(days, demand, TRAINED_ON))
    champion = TrainedRun("r", 1, "xgboost", "/c", "D", 28, 0.7, trained_on_series=True)
    history = pd.DataFrame({"unique_id": "a", "ds": days[:TRAINED_ON], "y": demand["a"][:TRAINED_ON]})
    answer = TrainedModels(loader=lambda run: booster._members[0].point).forecast(champion, history, 7, [0.1, 0.9])
    assert answer is not None
    assert "fitted selection" in answer["reason"] and "kept no validation errors for this series" in answer["reason"]


def test_validation_errors_come_from_a_fit_without_the_window_before_the_test_window_scored_on_it():
    # The train job passes its training data (the test window already cut off): the window is its last steps.
    train = pd.DataFrame(
        {"unique_id": np.repeat(["a", "b"], 10), "ds": np.tile(pd.date_range("2025-01-01", periods=10), 2),
         "y": np.r_[np.arange(10.0), np.full(10, 5.0)]}
    )  # fmt: skip
    seen = []

    def fit(kind: str, earlier: pd.DataFrame) -> TrainingMean:
        seen.append(earlier)
        return TrainingMean(earlier)

    errors = validation_errors("xgboost", train, 3, fit)["series_errors"]
    assert seen[0].groupby("unique_id")["ds"].max().dt.day.tolist() == [7, 7]
    assert errors == {"a": [4.0, 5.0, 6.0], "b": [0.0, 0.0, 0.0]}  # a: 7, 8, 9 against the mean of 0..6
    assert validation_errors("deepar", train, 3, fit) == {} and len(seen) == 1  # DeepAR has its own quantiles


def test_intervals_from_a_runs_validation_errors_cover_about_80_percent_of_the_held_out_demand_that_followed():
    days, demand = poisson_panel()
    train = long_frame(days, demand, TRAINED_ON)
    stored = validation_errors("xgboost", train, HORIZON, lambda kind, earlier: fit_booster(earlier))["series_errors"]
    booster = fit_booster(train)
    models = TrainedModels(loader=lambda run: booster._members[0].point)
    inside = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for uid, y in demand.items():
            champion = TrainedRun("r", 1, "xgboost", "/c", "D", 28, 0.7, True, tuple(stored[uid]))
            for origin in range(TRAINED_ON, DAYS - HORIZON + 1, HORIZON):
                history = pd.DataFrame({"unique_id": uid, "ds": days[:origin], "y": y[:origin]})
                answer = models.forecast(champion, history, HORIZON, [0.1, 0.5, 0.9])
                assert answer is not None and "validation window" in answer["reason"]
                for point, actual in zip(answer["points"], y[origin : origin + HORIZON], strict=True):
                    inside.append(point["quantiles"]["0.1"] <= actual <= point["quantiles"]["0.9"])
    assert len(inside) == 3 * 2 * HORIZON
    assert 0.7 <= np.mean(inside) <= 0.92, f"10-90% coverage {np.mean(inside):.3f} on {len(inside)} held-out days"
