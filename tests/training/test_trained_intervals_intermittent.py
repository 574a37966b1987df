"""On intermittent demand an xgboost champion's 80% interval keeps its 10% bound at zero on zero-demand days."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from training.features import FeatureSpec
from training.models.gradient_boosted import GradientBoostedForecaster
from training.serving import TrainedModels, TrainedRun, _carried_quantile

DAYS, TRAINED_ON, HORIZON = 252, 168, 28


def test_an_xgboost_champions_interval_on_lumpy_weekly_demand_covers_about_80_percent_and_starts_at_zero():
    # The selection's quantiles moved by (booster point - selection point): where the booster's weekday point sat above
    # the selection's flat mean the 10% bound rose above zero on zero-demand days (29.8% of days below, 0.595 inside).
    rng = np.random.default_rng(3)
    days = pd.date_range("2025-01-01", periods=DAYS)
    weekly = np.array([1.6, 1.4, 1.2, 1.0, 1.0, 0.4, 0.4])[days.dayofweek]
    demand = {}
    for i in range(4):
        demand[f"steady{i}"] = rng.poisson(20 * weekly).astype(float)
        demand[f"lumpy{i}"] = ((rng.random(DAYS) < 0.15 * weekly) * rng.integers(1, 30, DAYS)).astype(float)
    panel = pd.concat(
        pd.DataFrame({"unique_id": u, "ds": days[:TRAINED_ON], "y": y[:TRAINED_ON]}) for u, y in demand.items()
    )
    booster = GradientBoostedForecaster(spec=FeatureSpec.for_frequency("D"), n_estimators=100).fit(panel, "D")
    models = TrainedModels(loader=lambda run: booster._members[0].point)
    champion = TrainedRun("r", 1, "xgboost", "/checkpoints/r", "D", 28, 0.7, trained_on_series=True)
    inside, below = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for uid, y in demand.items():
            if not uid.startswith("lumpy"):
                continue
            for origin in range(TRAINED_ON, DAYS - HORIZON + 1, HORIZON):
                history = pd.DataFrame({"unique_id": uid, "ds": days[:origin], "y": y[:origin]})
                answer = models.forecast(champion, history, HORIZON, [0.1, 0.5, 0.9])
                assert answer is not None
                for point, actual in zip(answer["points"], y[origin : origin + HORIZON], strict=True):
                    inside.append(point["quantiles"]["0.1"] <= actual <= point["quantiles"]["0.9"])
                    below.append(actual < point["quantiles"]["0.1"])
    assert len(inside) == 4 * 3 * HORIZON
    assert np.mean(below) <= 0.12, f"{np.mean(below):.3f} of {len(below)} held-out days below the 10% bound"
    assert 0.7 <= np.mean(inside) <= 0.95, f"10-90% coverage {np.mean(inside):.3f} on {len(inside)} held-out days"


def test_a_selection_point_near_zero_moves_the_quantiles_instead_of_multiplying_them():
    quantile, booster, selected = np.array([0.0, 4.0]), np.array([2.0, 2.0]), np.array([1e-9, 1e-9])
    assert _carried_quantile(quantile, booster, selected, floor=0.05).tolist() == pytest.approx([2.0, 6.0])
    # Above the floor the spread follows the level: half the selection's point, half its quantiles.
    assert _carried_quantile(np.array([0.0, 4.0]), booster, np.array([4.0, 4.0]), 0.05).tolist() == [0.0, 2.0]
