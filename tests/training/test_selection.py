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
    "dynamic_theta": lambda: StatisticalForecaster("dynamic_theta"),
    "xgboost": lambda: GradientBoostedForecaster(n_estimators=60),
}


def monthly(uid: str, y: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"unique_id": uid, "ds": pd.date_range("2015-01-01", periods=len(y), freq="MS"), "y": y})


@pytest.fixture(scope="module")
def fitted(make_seasonal, make_sparse, split):
    """One selection over seasonal, intermittent, short and very short series, last 12 months held out."""
    short = monthly("newcomer", np.arange(22.0))
    tiny = monthly("tiny", np.arange(1.0, 15.0))
    panel = pd.concat([make_seasonal(), make_sparse(), short, tiny], ignore_index=True)
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


def test_intermittent_series_are_served_by_croston_or_tsb_only(fitted):
    model, _, _ = fitted
    members = model.weights_.set_index("unique_id").loc[["sparse0", "sparse1"], "model"]
    assert set(members) <= {"croston_sba", "tsb"}


def test_global_model_stays_out_of_a_panel_of_short_series(fitted):
    model, _, _ = fitted
    assert "xgboost" not in set(model.weights_["model"])
    assert "xgboost" not in set(model.backtest_scores_["model"])


def test_series_too_short_to_backtest_take_the_panels_combination_and_say_so(fitted):
    model, _, _ = fitted
    row = model.selection_.set_index("unique_id").loc["newcomer"]
    assert row["model"] == ENSEMBLE
    assert row["note"] == "mean of auto_ets, dynamic_theta (not backtested: 10 observations, backtest needs 19)"
    assert set(model.weights_.loc[model.weights_["unique_id"] == "newcomer", "model"]) == {"auto_ets", "dynamic_theta"}


def test_series_too_short_for_a_combination_fall_back_to_naive(fitted):
    model, _, _ = fitted
    row = model.selection_.set_index("unique_id").loc["tiny"]
    assert row["model"] == "naive"
    assert row["note"] == "fallback: 2 observations, a combination needs 7; naive"


def test_weights_of_each_series_sum_to_one(fitted):
    model, _, _ = fitted
    assert np.allclose(model.weights_.groupby("unique_id")["weight"].sum(), 1.0)


def test_a_series_where_one_model_is_known_best_gets_that_model():
    # A spiky yearly pattern repeated exactly: seasonal naive is right to the noise, naive is far off,
    # so their mean (the combination) is far off too.
    rng = np.random.default_rng(3)
    pattern = np.array([10, 10, 80, 10, 10, 10, 40, 10, 10, 10, 10, 120], dtype=float)
    y = np.tile(pattern, 6) + rng.normal(0, 0.5, 72)
    candidates = {
        "seasonal_naive": lambda: StatisticalForecaster("seasonal_naive"),
        "naive": lambda: StatisticalForecaster("naive"),
    }
    model = AutoForecaster(candidates, horizon=12, n_windows=2, pool=("seasonal_naive", "naive"))
    model.fit(monthly("spiky", y), "MS")
    assert model.selection_.iloc[0]["note"].startswith("leaning: seasonal_naive beat the mean of seasonal_naive, naive")
    assert model.weights_.groupby("model")["weight"].sum()["seasonal_naive"] > 0.95


def test_a_winner_share_of_one_lets_the_winner_stand_alone():
    candidates = {name: (lambda name=name: StatisticalForecaster(name)) for name in ("seasonal_naive", "naive")}
    model = AutoForecaster(candidates, horizon=12, n_windows=2, pool=("seasonal_naive", "naive"), winner_share=1.0)
    model.fit(monthly("spiky", spiky(72)), "MS")
    row = model.selection_.iloc[0]
    assert (row["model"], row["note"][:7]) == ("seasonal_naive", "single:")
    assert model.weights_[["model", "weight"]].to_dict("records") == [{"model": "seasonal_naive", "weight": 1.0}]


def test_short_noisy_series_fall_back_to_the_combination():
    rng = np.random.default_rng(7)
    panel = pd.concat([monthly(f"noise{i}", 50 + rng.normal(0, 10, 30)) for i in range(6)], ignore_index=True)
    candidates = {name: REGULAR[name] for name in ("seasonal_naive", "auto_ets", "dynamic_theta")}
    model = AutoForecaster(candidates, horizon=6, n_windows=2).fit(panel, "MS")
    assert set(model.selection_["model"]) == {ENSEMBLE}
    assert set(model.weights_["model"]) == {"auto_ets", "dynamic_theta"}


def test_a_model_that_wins_only_one_window_does_not_replace_the_combination():
    # Flat, then a level shift inside the last backtest window only: naive wins one window, not both.
    y = np.r_[np.full(40, 100.0), np.full(8, 100.0), np.full(4, 100.0), np.full(4, 160.0)]
    y = y + np.random.default_rng(0).normal(0, 1, len(y))
    candidates = {
        "naive": lambda: StatisticalForecaster("naive"),
        "auto_ets": lambda: StatisticalForecaster("auto_ets"),
        "dynamic_theta": lambda: StatisticalForecaster("dynamic_theta"),
    }
    model = AutoForecaster(candidates, horizon=8, n_windows=2).fit(monthly("shift", y), "MS")
    assert model.selection_.iloc[0]["model"] == ENSEMBLE


def test_a_constant_series_keeps_the_median_of_the_pool():
    # Every candidate's backtest error is 0; before, one was named as beating the median by 20% in every window.
    names = ("auto_ets", "dynamic_theta", "auto_ces")
    candidates = {name: (lambda name=name: StatisticalForecaster(name)) for name in names}
    daily = pd.DataFrame({"unique_id": "flat", "ds": pd.date_range("2026-01-05", periods=60, freq="D"), "y": 12.0})
    model = AutoForecaster(candidates, horizon=14, n_windows=2).fit(daily, "D")
    row = model.selection_.iloc[0]
    assert (row["model"], row["note"]) == (ENSEMBLE, "median of auto_ets, dynamic_theta, auto_ces")


def spiky(length: int, seed: int = 3) -> np.ndarray:
    """A spiky yearly pattern repeated exactly plus a little noise: seasonal naive is right, naive far off."""
    pattern = np.array([10, 10, 80, 10, 10, 10, 40, 10, 10, 10, 10, 120], dtype=float)
    return np.resize(pattern, length) + np.random.default_rng(seed).normal(0, 0.5, length)


def test_one_series_too_short_for_seasonal_naive_leaves_it_to_the_long_ones():
    # "newcomer" joins both backtest windows with 10 and 7 observations, less than seasonal naive's
    # season of 12: it alone goes without seasonal naive, the long series still backtests and picks it.
    panel = pd.concat([monthly("spiky", spiky(72)), monthly("newcomer", spiky(16, seed=4))], ignore_index=True)
    candidates = {
        "seasonal_naive": lambda: StatisticalForecaster("seasonal_naive"),
        "naive": lambda: StatisticalForecaster("naive"),
    }
    model = AutoForecaster(candidates, horizon=6, n_windows=2, pool=("naive",)).fit(panel, "MS")
    chosen = model.selection_.set_index("unique_id")["model"]
    scored = model.backtest_scores_.groupby("unique_id")["model"].apply(set)
    leaning = model.weights_.groupby("unique_id")["model"].apply(set)
    assert chosen.to_dict() == {"newcomer": "naive", "spiky": "ensemble"}
    assert leaning.to_dict() == {"newcomer": {"naive"}, "spiky": {"naive", "seasonal_naive"}}
    assert scored.to_dict() == {"newcomer": {"naive"}, "spiky": {"naive", "seasonal_naive"}}


def test_a_series_shorter_than_a_season_combines_only_the_pool_members_that_fit_it():
    panel = pd.concat([monthly("spiky", spiky(72)), monthly("young", spiky(10, seed=5))], ignore_index=True)
    candidates = {
        "seasonal_naive": lambda: StatisticalForecaster("seasonal_naive"),
        "naive": lambda: StatisticalForecaster("naive"),
    }
    model = AutoForecaster(candidates, horizon=6, n_windows=2, pool=("seasonal_naive", "naive"), margin=0.99)
    model.fit(panel, "MS")
    members = model.weights_.groupby("unique_id")["model"].apply(set)
    assert members.to_dict() == {"spiky": {"naive", "seasonal_naive"}, "young": {"naive"}}
    assert model.predict(6).groupby("unique_id").size().to_dict() == {"spiky": 6, "young": 6}


def test_the_pool_is_chosen_on_the_older_pool_windows_too():
    # Noise around 100 with a six-month burst 21-26 months before the end: seasonal naive repeats the
    # burst into the backtest windows 3 and 4 (from the end), not into the latest two. On those two the
    # mean of all three members scores best; over four windows the median, which outvotes it, stays.
    rng = np.random.default_rng(0)
    series = [100 + rng.normal(0, 2, 48) + np.r_[np.zeros(21), np.full(6, 100.0), np.zeros(21)] for _ in range(4)]
    panel = pd.concat([monthly(f"s{i}", y) for i, y in enumerate(series)], ignore_index=True)
    candidates = {
        name: (lambda name=name: StatisticalForecaster(name)) for name in ("naive", "seasonal_naive", "auto_ets")
    }
    settings = dict(horizon=6, n_windows=2, pool=("naive", "auto_ets", "seasonal_naive"), min_series_for_pool=1)
    rules = {
        windows: set(AutoForecaster(candidates, **settings, pool_windows=windows).fit(panel, "MS").weights_["rule"])
        for windows in (None, 4)
    }
    assert rules == {None: {"mean"}, 4: {"median"}}
