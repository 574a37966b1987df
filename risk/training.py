"""Fit the disruption booster with Ray Train's ``XGBoostTrainer`` (data-parallel over ``workers``).

A thin wrapper over ``training.ray_xgboost``: each worker trains on its shard exactly as
``risk.model.fit_booster`` does (the same parameters and base margin), every booster a training run asks for
(its validation windows' and the final one) in one Ray Train run.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from typing import Any
from uuid import uuid4

import numpy as np
import pandas as pd
import xgboost as xgb

from risk.features import FEATURES
from risk.model import DEFAULT_PARAMS, DEFAULT_ROUNDS, offset_margin
from risk.pipeline import Fitter
from training.compute import TrainCompute
from training.ray_xgboost import LABEL, fit_xgboost_on_ray

OFFSET = "offset"  # the column of the base margin (``risk.model.offset_margin``)
RUN_NAME = "risk-disruption"


def ray_fitter(
    *,
    workers: int = 2,
    rounds: int = DEFAULT_ROUNDS,
    params: dict[str, Any] | None = None,
    compute: TrainCompute | None = None,
    storage_path: str | None = None,
) -> Fitter:
    """A ``Fitter`` that trains all its boosters in one run of Ray Train workers (Ray must be initialised by the
    caller): ``compute`` when given (GPU workers train with ``device="cuda"``), otherwise ``workers`` CPU workers.
    ``storage_path``: where the run keeps its checkpoint when the workers are on other nodes than the driver
    (storage they all reach); without it, a temporary folder of the driver's, removed after each fit."""
    compute = compute or TrainCompute(workers=workers)

    def fit(sets: Sequence[tuple[pd.DataFrame, np.ndarray]]) -> list[xgb.Booster]:
        frames = [
            features[FEATURES].assign(**{LABEL: labels.astype(float), OFFSET: offset_margin(features)})
            for features, labels in sets
        ]
        merged = {**DEFAULT_PARAMS, **(params or {})}
        if storage_path:
            # A run of its own per fit: under a shared name Ray Train would load the last fit's checkpoints.
            name = f"{RUN_NAME}-{uuid4().hex}"
            fits = fit_xgboost_on_ray(
                frames, FEATURES, merged, rounds, compute, name=name, offset=OFFSET, storage_path=storage_path
            )
            return [fit.booster for fit in fits]
        # The boosters come back loaded and are stored in the database by the caller, so Ray Train's run directory
        # (its checkpoint included) goes when the fit returns: each nightly retrain used to leave one in /tmp.
        with tempfile.TemporaryDirectory(prefix=f"chainsight-{RUN_NAME}-") as storage:
            fits = fit_xgboost_on_ray(
                frames, FEATURES, merged, rounds, compute, name=RUN_NAME, offset=OFFSET, storage_path=storage
            )
            return [fit.booster for fit in fits]

    return fit
