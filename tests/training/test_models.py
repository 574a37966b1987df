import numpy as np
import pandas as pd
import pytest

from training import metrics
from training.models.base import POINT_COLUMN
from training.models.gradient_boosted import GradientBoostedForecaster
from training.models.intermittent import IntermittentForecaster
from training.models.neural import NeuralForecaster
from training.models.statistical import StatisticalForecaster

QUANTILES = [0.1, 0.5, 0.9]
MODELS = {
    "seasonal_naive": lambda: StatisticalForecaster("seasonal_naive"),
    "auto_ets": lambda: StatisticalForecaster("auto_ets"),
    "auto_theta": lambda: StatisticalForecaster("auto_theta"),
    "auto_arima": lambda: StatisticalForecaster("auto_arima", max_history=48),
    "croston_sba": lambda: IntermittentForecaster("croston_sba"),
    "tsb": lambda: IntermittentForecaster("tsb"),
    "xgboost": lambda: GradientBoostedForecaster(n_estimators=60),
}


def holdout_mase(model, df, split, horizon=12):
    train, test = split(df, horizon)
    forecast = model.fit(train, "MS").predict(horizon).merge(test, on=["unique_id", "ds"])
    scores = []
    for uid, window in forecast.groupby("unique_id"):
        insample = train.loc[train["unique_id"] == uid, "y"].to_numpy()
        scores.append(metrics.mase(window["y"].to_numpy(), window[POINT_COLUMN].to_numpy(), insample, 12))
    return float(np.mean(scores))


@pytest.mark.parametrize("name", list(MODELS))
def test_forecast_has_one_row_per_series_and_step_with_monotone_quantiles(seasonal, name):
    forecast = MODELS[name]().fit(seasonal, "MS").predict(6, QUANTILES)
    assert list(forecast.columns) == ["unique_id", "ds", "yhat", "q0.1", "q0.5", "q0.9"]
    assert forecast.groupby("unique_id").size().to_dict() == {f"seasonal{i}": 6 for i in range(3)}
    assert forecast["ds"].min() == seasonal["ds"].max() + pd.DateOffset(months=1)
    values = forecast[["q0.1", "q0.5", "q0.9"]].to_numpy()
    assert np.all(np.diff(values, axis=1) >= 0)
    assert np.isfinite(forecast["yhat"]).all()


@pytest.mark.parametrize("name", ["auto_ets", "xgboost"])
def test_trend_aware_models_beat_seasonal_naive_on_a_trending_seasonal_holdout(seasonal, split, name):
    ours = holdout_mase(MODELS[name](), seasonal, split)
    assert ours < holdout_mase(MODELS["seasonal_naive"](), seasonal, split)


def test_statistical_intervals_are_centred_on_the_point_forecast(seasonal):
    forecast = StatisticalForecaster("auto_ets").fit(seasonal, "MS").predict(4, QUANTILES)
    assert np.allclose(forecast["q0.5"], forecast["yhat"])
    assert np.allclose(forecast["yhat"] - forecast["q0.1"], forecast["q0.9"] - forecast["yhat"])


def test_thetas_extreme_quantiles_reach_past_its_200_simulated_paths():
    # Before, q0.9999 was the largest of Theta's 200 paths: 23.99 beside a q0.9 of 22.98 and a yhat of 21.02.
    history = pd.DataFrame(
        {"unique_id": "a", "ds": pd.date_range("2026-01-05", periods=5, freq="D"), "y": [18.0, 25, 14, 22, 20]}
    )
    row = StatisticalForecaster("dynamic_theta").fit(history, "D").predict(1, [0.0001, 0.1, 0.5, 0.9, 0.9999]).iloc[0]
    # A normal quantile at 0.9999 lies 2.9 times as far from the median as the one at 0.9.
    assert row["q0.9999"] - row["yhat"] > 2.5 * (row["q0.9"] - row["yhat"])
    assert row["yhat"] - row["q0.0001"] > 2.5 * (row["yhat"] - row["q0.1"])


def test_intermittent_forecasts_are_non_negative_demand_rates(sparse):
    forecast = IntermittentForecaster("tsb").fit(sparse, "MS").predict(5, QUANTILES)
    assert (forecast[["yhat", "q0.1", "q0.5", "q0.9"]] >= 0).all().all()
    rate = sparse.groupby("unique_id")["y"].mean()
    # A flat rate in the neighbourhood of the long-run mean demand per period.
    assert np.allclose(forecast.groupby("unique_id")["yhat"].first(), rate, rtol=0.8)


def test_xgboost_quantile_band_covers_most_of_the_holdout(seasonal, split):
    train, test = split(seasonal, 6)
    forecast = GradientBoostedForecaster(n_estimators=80).fit(train, "MS").predict(6, [0.05, 0.95])
    merged = forecast.merge(test, on=["unique_id", "ds"])
    inside = (merged["y"] >= merged["q0.05"]) & (merged["y"] <= merged["q0.95"])
    assert inside.mean() >= 0.6


def test_xgboost_intervals_widen_with_the_horizon_and_cover_random_walks():
    rng = np.random.default_rng(3)
    length, horizon = 200, 14
    walks = [
        pd.DataFrame(
            {
                "unique_id": f"walk{i}",
                "ds": pd.date_range("2024-01-01", periods=length + horizon, freq="D"),
                "y": 500 + np.cumsum(rng.normal(0, 5, length + horizon)),
            }
        )
        for i in range(30)
    ]
    panel = pd.concat(walks, ignore_index=True)
    from_end = panel.groupby("unique_id").cumcount(ascending=False)
    train, test = panel[from_end >= horizon], panel[from_end < horizon]
    forecast = GradientBoostedForecaster(n_estimators=100).fit(train, "D").predict(horizon, [0.1, 0.9])
    merged = forecast.merge(test, on=["unique_id", "ds"])
    merged["step"] = merged.groupby("unique_id").cumcount() + 1
    width = (merged["q0.9"] - merged["q0.1"]).groupby(merged["step"]).median()
    # A random walk's spread grows like the square root of the horizon: sqrt(14) is about 3.7.
    assert width[horizon] > 2 * width[1]
    inside = (merged["y"] >= merged["q0.1"]) & (merged["y"] <= merged["q0.9"])
    assert 0.65 <= inside.mean() <= 0.95


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["deepar", "lstm"])
def test_neural_forecasts_of_non_negative_demand_are_never_negative(kind):
    # Slow movers (a Poisson rate of 0.4 a day): before, DeepAR's q0.1 was about -0.67 on every series and was stored
    # and served as demand.
    rng = np.random.default_rng(1)
    days = pd.date_range("2026-06-01", periods=60, freq="D")
    frames = [pd.DataFrame({"unique_id": f"slow{i}", "ds": days, "y": rng.poisson(0.4, 60)}) for i in range(4)]
    panel = pd.concat(frames, ignore_index=True).astype({"y": float})
    model = NeuralForecaster(kind, horizon=7, context=14, epochs=1, n_samples=50).fit(panel, "D")
    forecast = model.predict(7, [0.1, 0.5, 0.9])
    assert len(forecast) == 4 * 7
    assert (forecast[["yhat", "q0.1", "q0.5", "q0.9"]].to_numpy() >= 0).all()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["deepar", "lstm"])
def test_neural_forecasts_leave_no_lightning_logs_in_the_working_directory(kind, tmp_path, monkeypatch):
    # Before, every forecast (a Serve request answered from a champion's checkpoint) left lightning_logs/version_N
    # in the replica's working directory, and two concurrent requests could pick the same N (FileExistsError).
    monkeypatch.chdir(tmp_path)
    days = pd.date_range("2026-06-01", periods=40, freq="D")
    panel = pd.concat(
        pd.DataFrame({"unique_id": uid, "ds": days, "y": np.arange(40) % 7 + level})
        for uid, level in (("a", 3), ("b", 8))
    ).astype({"y": float})
    model = NeuralForecaster(kind, horizon=7, context=14, epochs=1, n_samples=20).fit(panel, "D")
    assert len(model.predict(7, [0.1, 0.9])) == 2 * 7
    assert not (tmp_path / "lightning_logs").exists()
