import numpy as np
import pandas as pd
import pytest

from training import metrics
from training.models.gradient_boosted import GradientBoostedForecaster
from training.models.statistical import StatisticalForecaster
from training.selection import ENSEMBLE, AutoForecaster

REGULAR = {
    "seasonal_naive": lambda: StatisticalForecaster("seasonal_naive"),
    "auto_ets": lambda: StatisticalForecaster("auto_ets"),
    "auto_theta": lambda: StatisticalForecaster("auto_theta"),
    "xgboost": lambda: GradientBoostedForecaster(n_estimators=60),
}


@pytest.fixture(scope="module")
def fitted(make_seasonal, make_sparse, split):
    """One selection over seasonal, intermittent and too-short series, last 12 months held out."""
    short = pd.DataFrame(
        {"unique_id": "newcomer", "ds": pd.date_range("2023-01-01", periods=22, freq="MS"), "y": np.arange(22.0)}
    )
    panel = pd.concat([make_seasonal(), make_sparse(), short], ignore_index=True)
    train, test = split(panel, 12)
    return AutoForecaster(REGULAR, horizon=12, n_windows=2).fit(train, "MS"), train, test


def test_every_series_gets_a_forecast_for_the_full_horizon(fitted):
    model, train, _ = fitted
    forecast = model.predict(12, [0.1, 0.5, 0.9])
    assert forecast.groupby("unique_id").size().to_dict() == dict.fromkeys(train["unique_id"].unique(), 12)
    assert np.all(np.diff(forecast[["q0.1", "q0.5", "q0.9"]].to_numpy(), axis=1) >= 0)


def test_selected_forecast_beats_naive_on_the_seasonal_holdout(fitted):
    model, train, test = fitted
    ours = model.predict(12).merge(test, on=["unique_id", "ds"])
    naive = StatisticalForecaster("naive").fit(train, "MS").predict(12).merge(test, on=["unique_id", "ds"])
    seasonal = ours["unique_id"].str.startswith("seasonal")
    ours_error = metrics.smape(ours.loc[seasonal, "y"].to_numpy(), ours.loc[seasonal, "yhat"].to_numpy())
    naive_error = metrics.smape(naive.loc[seasonal, "y"].to_numpy(), naive.loc[seasonal, "yhat"].to_numpy())
    assert ours_error < naive_error


def test_intermittent_series_get_croston_or_tsb(fitted):
    model, _, _ = fitted
    chosen = model.weights_.set_index("unique_id").loc[["sparse0", "sparse1"], "model"]
    assert set(chosen) <= {"croston_sba", "tsb"}


def test_series_too_short_to_backtest_fall_back_to_naive_and_say_so(fitted):
    model, _, _ = fitted
    row = model.selection_.set_index("unique_id").loc["newcomer"]
    assert row["model"] == "naive"
    assert row["note"] == "fallback: 10 observations, backtest needs 26"


def test_weights_of_each_series_sum_to_one(fitted):
    model, _, _ = fitted
    assert np.allclose(model.weights_.groupby("unique_id")["weight"].sum(), 1.0)


def test_ensemble_is_chosen_only_when_its_backtest_error_beats_the_best_single_model(fitted):
    model, _, _ = fitted
    scores = model.backtest_scores_.pivot(index="unique_id", columns="model", values="mase")
    for row in model.selection_.dropna(subset=["error"]).itertuples():
        best_single = scores.loc[row.unique_id].min()
        if row.model == ENSEMBLE:
            assert row.error < best_single
        else:
            assert row.error == pytest.approx(best_single)
