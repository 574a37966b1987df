"""A Ray Train champion's checkpoint is read once per process and replaced when another run is champion."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from training.features import FeatureSpec
from training.models.gradient_boosted import GradientBoostedForecaster
from training.serving import TrainedModels, TrainedRun


def run(run_id: str) -> TrainedRun:
    return TrainedRun(run_id, 1, "deepar", f"/checkpoints/{run_id}", "D", 7, 0.5)


def test_each_champion_checkpoint_is_loaded_once_and_the_least_recently_used_is_dropped():
    read: list[str] = []
    models = TrainedModels(loader=lambda r: read.append(r.run_id) or f"network of {r.run_id}", capacity=2)
    assert models.model(run("a")) == models.model(run("a")) == "network of a"
    models.model(run("b"))
    models.model(run("a"))
    models.model(run("c"))  # evicts b, the least recently used
    models.model(run("a"))
    models.model(run("b"))
    assert read == ["a", "b", "c", "b"] and models.loads == 4


def test_a_champion_retrained_under_its_run_id_is_loaded_again_from_its_new_checkpoint():
    # Before, the replica kept the first checkpoint of the run for as long as it served.
    models = TrainedModels(loader=lambda r: f"network from {r.artifact_uri}")
    models.model(run("a"))
    retrained = dataclasses.replace(run("a"), artifact_uri="/checkpoints/a-rerun")
    assert models.model(retrained) == "network from /checkpoints/a-rerun"
    assert models.model(retrained) == "network from /checkpoints/a-rerun" and models.loads == 2


def test_a_series_with_one_period_of_history_is_left_to_the_fitted_path_by_an_xgboost_champion():
    # Before, attaching the booster refused it ("shorter than the 2 observations required"): a 400 for a product
    # stocked since the last period, which the fitted path answers.
    days = pd.date_range("2025-01-01", periods=60)
    panel = pd.concat(
        pd.DataFrame({"unique_id": uid, "ds": days, "y": np.arange(60) % 7 + level})
        for uid, level in (("a", 5), ("b", 9))
    )
    forecaster = GradientBoostedForecaster(spec=FeatureSpec.for_frequency("D"), n_estimators=20).fit(panel, "D")
    booster = forecaster._members[0].point
    models = TrainedModels(loader=lambda r: booster)
    champion = TrainedRun("x", 1, "xgboost", "/checkpoints/x", "D", 7, 0.5)
    new_series = pd.DataFrame({"unique_id": ["c"], "ds": [days[-1]], "y": [4.0]})
    assert models.forecast(champion, new_series, 7, [0.1, 0.5, 0.9]) is None
    answered = models.forecast(champion, panel[panel["unique_id"] == "a"], 7, [0.1, 0.5, 0.9])
    assert answered is not None and answered["model"] == "xgboost"
