import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from training.backtest import cross_validation
from training.errors import ForecastInputError
from training.features import calendar_features, window_features
from training.models.gradient_boosted import GradientBoostedForecaster
from training.models.statistical import StatisticalForecaster
from training.selection import AutoForecaster
from training.validation import validate_history

HORIZON = 14


def promoted_panel(n_series: int = 4, length: int = 160, seed: int = 0) -> pd.DataFrame:
    """Daily demand with a weekly cycle that jumps by half its level on promotion days."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n_series):
        t = np.arange(length)
        promo = rng.binomial(1, 0.2, length).astype(float)
        base = (i + 2) * (50 + 10 * np.sin(2 * np.pi * t / 7))
        y = base * (1 + 0.5 * promo) + rng.normal(0, 2, length)
        ds = pd.date_range("2024-01-01", periods=length, freq="D")
        frames.append(pd.DataFrame({"unique_id": f"s{i}", "ds": ds, "y": y, "promo": promo}))
    return pd.concat(frames, ignore_index=True)


def split(panel: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    from_end = panel.groupby("unique_id").cumcount(ascending=False)
    return panel[from_end >= HORIZON], panel[from_end < HORIZON]


def holdout_mae(forecast: pd.DataFrame, test: pd.DataFrame) -> float:
    merged = test.merge(forecast, on=["unique_id", "ds"])
    assert len(merged) == len(test)
    return float(np.mean(np.abs(merged["y"] - merged["yhat"])))


def test_xgboost_uses_a_known_future_covariate_to_beat_itself_without_it():
    train, test = split(promoted_panel())
    future = test[["unique_id", "ds", "promo"]]
    with_promo = GradientBoostedForecaster(n_estimators=150).fit(train, "D").predict(HORIZON, future=future)
    without = GradientBoostedForecaster(n_estimators=150).fit(train.drop(columns="promo"), "D").predict(HORIZON)
    assert holdout_mae(with_promo, test) < 0.6 * holdout_mae(without, test)


def test_predicting_without_the_covariates_future_values_names_them():
    train, _ = split(promoted_panel(n_series=1))
    model = GradientBoostedForecaster(n_estimators=20).fit(train, "D")
    with pytest.raises(ForecastInputError, match=r"fitted with covariates \['promo'\]"):
        model.predict(HORIZON)


def test_a_future_missing_one_step_is_refused_with_the_step():
    train, test = split(promoted_panel(n_series=1))
    model = GradientBoostedForecaster(n_estimators=20).fit(train, "D")
    with pytest.raises(ForecastInputError, match=r"miss 1 of 14 forecast step\(s\)"):
        model.predict(HORIZON, future=test.iloc[:-1][["unique_id", "ds", "promo"]])


def test_a_non_numeric_covariate_is_refused():
    panel = promoted_panel(n_series=1).assign(promo="yes")
    with pytest.raises(ForecastInputError, match="column 'promo' must be numeric"):
        validate_history(panel, "D", covariates=("promo",))


def test_models_without_covariate_support_ignore_the_columns_and_the_future():
    train, test = split(promoted_panel(n_series=2))
    forecast = StatisticalForecaster("seasonal_naive").fit(train, "D").predict(HORIZON, future=test)
    assert len(forecast) == 2 * HORIZON


def test_backtest_hands_the_held_out_covariates_to_the_model_as_its_future():
    panel = promoted_panel(n_series=2)
    cv = cross_validation(lambda: GradientBoostedForecaster(n_estimators=20), panel, "D", HORIZON, n_windows=2)
    assert len(cv) == 2 * 2 * HORIZON
    assert cv["yhat"].notna().all()


def test_selection_passes_covariates_through_to_the_chosen_models():
    train, test = split(promoted_panel(n_series=3))
    candidates = {
        "seasonal_naive": lambda: StatisticalForecaster("seasonal_naive"),
        "xgboost": lambda: GradientBoostedForecaster(n_estimators=100),
    }
    model = AutoForecaster(candidates, horizon=HORIZON, n_windows=2).fit(train, "D")
    forecast = model.predict(HORIZON, [0.1, 0.9], future=test[["unique_id", "ds", "promo"]])
    assert model.covariates == ("promo",)
    assert holdout_mae(forecast, test) < holdout_mae(
        StatisticalForecaster("seasonal_naive").fit(train, "D").predict(HORIZON), test
    )


def test_the_first_step_is_the_boosters_prediction_on_its_named_features():
    # The recursion predicts from plain arrays (no feature names checked): the columns must be in
    # the order the booster was trained on, covariates last.
    train, test = split(promoted_panel(n_series=2))
    future = test[["unique_id", "ds", "promo"]]
    model = GradientBoostedForecaster(n_estimators=30, scalings=("level",)).fit(train, "D")
    forecast = model.predict(1, future=future.groupby("unique_id").head(1))
    member = model._members[0]
    groups = [g.to_numpy(dtype=float) for _, g in train.groupby("unique_id", sort=True)["y"]]
    feats, level, scale = window_features(member._context(groups), member.spec)
    first = future.groupby("unique_id", sort=True).head(1)
    rows = np.hstack([feats, calendar_features(first["ds"], member.spec.calendar), first[["promo"]].to_numpy()])
    assert member.point is not None
    named = member.point.predict(xgb.DMatrix(rows, feature_names=member.names))
    np.testing.assert_allclose(forecast.sort_values("unique_id")["yhat"], level + named * scale, rtol=1e-6)
