import numpy as np
import pandas as pd
import pytest

from training.features import FeatureSpec, design_matrix, local_scale, window_features
from training.models.gradient_boosted import GradientBoostedForecaster


def test_hourly_spec_sees_each_day_of_the_past_week_and_the_same_hour_last_week():
    spec = FeatureSpec.for_frequency("h")
    assert set(range(1, 49)) <= set(spec.lags)
    assert {72, 96, 120, 144, 167, 168, 169, 192, 336} <= set(spec.lags)
    assert spec.level_window == 168
    assert spec.calendar == ("hour", "dayofweek")


@pytest.mark.parametrize(
    ("freq", "calendar"),
    [("h", ("hour", "dayofweek")), ("D", ("dayofweek", "day", "month")), ("W", ("week", "month")), ("MS", ("month",))],
)
def test_calendar_features_follow_the_frequency(freq, calendar):
    assert FeatureSpec.for_frequency(freq).calendar == calendar


def test_calendar_can_be_left_out_for_synthetic_timestamps():
    spec = FeatureSpec.for_frequency("h", calendar=False)
    assert spec.calendar == ()
    assert not {"hour", "dayofweek"} & set(spec.names)


def test_each_scaling_measures_rows_in_its_own_unit():
    rng = np.random.default_rng(0)
    context = (50 + 10 * np.sin(2 * np.pi * np.arange(48) / 24) + rng.normal(0, 1, 48))[None, :]
    level = np.array([context[0, -24:].mean()])
    seasonal_noise = np.mean(np.abs(context[0, 24:] - context[0, :-24]))
    spec = FeatureSpec(lags=(1,), windows=(4,), level_window=24, season=24)
    assert local_scale(context, level, spec)[0] == pytest.approx(level[0])
    assert local_scale(context, level, spec.with_scaling("seasonal_diff"))[0] == pytest.approx(seasonal_noise)
    assert local_scale(context, level, spec.with_scaling("blend"))[0] == pytest.approx(
        np.sqrt(level[0] * seasonal_noise)
    )


@pytest.mark.parametrize("scaling", ["level", "seasonal_diff", "blend"])
def test_all_zero_history_gets_a_usable_scale(scaling):
    spec = FeatureSpec(lags=(1, 2), windows=(4,), level_window=4, season=2, scaling=scaling)
    features, level, scale = window_features(np.zeros((1, 8)), spec)
    assert scale[0] == 1.0
    assert level[0] == 0.0
    assert np.isfinite(features).all()


def test_unknown_scaling_is_refused():
    with pytest.raises(ValueError, match="scaling must be one of"):
        FeatureSpec(lags=(1,), windows=(4,), level_window=4, scaling="log")


def _panel(length: int) -> pd.DataFrame:
    ds = pd.date_range("2024-01-01", periods=length, freq="D")
    return pd.DataFrame({"unique_id": "a", "ds": ds, "y": np.arange(length, dtype=float)})


def test_rows_before_a_full_level_window_are_dropped_from_long_series():
    spec = FeatureSpec(lags=(1,), windows=(4,), level_window=7, season=7, calendar=())
    _, targets = design_matrix(_panel(40), spec)
    assert len(targets) == 40 - 1 - 7


def test_short_series_keep_every_row_with_a_past_value():
    spec = FeatureSpec(lags=(1,), windows=(4,), level_window=7, season=7, calendar=())
    _, targets = design_matrix(_panel(10), spec)
    assert len(targets) == 10 - 1


def test_xgboost_never_forecasts_negative_demand_for_a_non_negative_series():
    ds = pd.date_range("2024-01-01", periods=120, freq="D")
    # Demand falling steadily towards zero: the members' unfloored median goes below zero here.
    history = pd.DataFrame({"unique_id": "falling", "ds": ds, "y": 5.0 * (121 - np.arange(120.0))})
    forecast = GradientBoostedForecaster(n_estimators=40).fit(history, "D").predict(14, [0.1, 0.9])
    assert (forecast[["yhat", "q0.1", "q0.9"]] >= 0).all().all()


def test_xgboost_bag_trains_one_member_per_scaling_and_a_given_spec_fixes_it():
    assert GradientBoostedForecaster().scalings == ("level", "seasonal_diff", "blend")
    spec = FeatureSpec.for_frequency("D", "blend")
    assert GradientBoostedForecaster(spec=spec).scalings == ("blend",)
