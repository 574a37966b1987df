import numpy as np
import pytest

from training import metrics
from training.backtest import cross_validation, score
from training.errors import ForecastInputError
from training.models.statistical import StatisticalForecaster


def naive():
    return StatisticalForecaster("naive")


def test_cross_validation_has_one_horizon_per_window_and_series(seasonal):
    cv = cross_validation(naive, seasonal, "MS", horizon=6, n_windows=3)
    assert cv.groupby("unique_id")["cutoff"].nunique().eq(3).all()
    assert cv.groupby(["unique_id", "cutoff"]).size().eq(6).all()
    # Each forecast lies strictly after its cutoff: no peeking at the held-out data.
    assert (cv["ds"] > cv["cutoff"]).all()
    last = seasonal.groupby("unique_id")["ds"].max()
    assert (cv.groupby("unique_id")["ds"].max() == last).all()


def test_naive_backtest_forecast_repeats_the_value_at_the_cutoff(seasonal):
    cv = cross_validation(naive, seasonal, "MS", horizon=3, n_windows=1)
    at_cutoff = seasonal.set_index(["unique_id", "ds"])["y"]
    expected = [at_cutoff[(u, c)] for u, c in zip(cv["unique_id"], cv["cutoff"], strict=True)]
    assert np.allclose(cv["yhat"], expected)


def test_series_too_short_for_the_windows_raise(seasonal):
    with pytest.raises(ForecastInputError, match="too short for 7 backtest window"):
        cross_validation(naive, seasonal, "MS", horizon=12, n_windows=7)


def test_score_reports_every_metric_per_series(seasonal):
    cv = cross_validation(naive, seasonal, "MS", horizon=6, n_windows=2, quantiles=[0.1, 0.9])
    table = score(cv, seasonal, "MS", quantiles=[0.1, 0.9])
    assert list(table.columns) == ["mase", "smape", "rmse", "bias", "pinball"]
    assert len(table) == 3 and table.notna().all().all()


def test_metrics_match_hand_computed_values():
    y, f = np.array([10.0, 20.0]), np.array([12.0, 20.0])
    assert metrics.smape(y, f) == pytest.approx((200 * 2 / 22) / 2)
    assert metrics.mase(y, f, np.array([1.0, 3.0, 5.0]), season=1) == pytest.approx(1.0 / 2.0)
    assert metrics.rmse(y, f) == pytest.approx(np.sqrt(2))
    assert metrics.bias(y, f) == pytest.approx(1.0)
    # Under-forecast by 2 at q=0.9 costs 0.9*2; over-forecast by 2 costs 0.1*2.
    assert metrics.pinball(np.array([10.0, 10.0]), np.array([8.0, 12.0]), 0.9) == pytest.approx((1.8 + 0.2) / 2)


def test_mase_scale_never_divides_by_zero_on_constant_history():
    assert metrics.mase_scale(np.array([4.0, 4.0, 4.0]), season=1) == 4.0
    assert metrics.mase_scale(np.zeros(5), season=2) == 1.0
