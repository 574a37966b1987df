"""Fit the disruption booster with Ray Train's ``XGBoostTrainer`` (data-parallel over ``workers``).

A thin wrapper: each worker builds a DMatrix from its shard and calls ``xgboost.train`` exactly as
``risk.model.fit_booster`` does (the same base margin); Ray Train connects the workers' collective. Reports happen
once, at the end (each ``ray.train.report`` costs about 2 s here; see shared/NOTES.md).
"""

from __future__ import annotations

import tempfile
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from risk.features import FEATURES
from risk.model import DEFAULT_PARAMS, DEFAULT_ROUNDS, offset_margin
from risk.pipeline import Fitter
from training.compute import TrainCompute


def ray_fitter(
    *,
    workers: int = 2,
    rounds: int = DEFAULT_ROUNDS,
    params: dict[str, Any] | None = None,
    compute: TrainCompute | None = None,
) -> Fitter:
    """A ``Fitter`` that trains on Ray Train workers (Ray must be initialised by the caller): ``compute`` when
    given (GPU workers train with ``device="cuda"``), otherwise ``workers`` CPU workers."""
    compute = compute or TrainCompute(workers=workers)

    def fit(features: pd.DataFrame, labels: np.ndarray) -> xgb.Booster:
        import ray.data
        from ray.train import RunConfig
        from ray.train.xgboost import RayTrainReportCallback, XGBoostTrainer

        frame = features[FEATURES].assign(label=labels.astype(float), offset=offset_margin(features))
        trainer = XGBoostTrainer(
            _train_loop,
            train_loop_config={
                "params": {**DEFAULT_PARAMS, **(params or {}), "device": compute.xgboost_device},
                "rounds": rounds,
            },
            scaling_config=compute.scaling_config(),
            run_config=RunConfig(name="risk-disruption", storage_path=tempfile.mkdtemp(prefix="chainsight-risk-")),
            datasets={"train": ray.data.from_pandas(frame)},
        )
        result = trainer.fit()
        if result.checkpoint is None:
            raise RuntimeError(f"Ray Train returned no checkpoint: {result.error}")
        return RayTrainReportCallback.get_model(result.checkpoint)

    return fit


def _train_loop(config: dict[str, Any]) -> None:
    import ray.train
    from ray.train.xgboost import RayTrainReportCallback

    class ReportOnce(RayTrainReportCallback):
        """Keep the evaluation log each round; report (with the checkpoint) only after the last one."""

        def after_iteration(self, model: xgb.Booster, epoch: int, evals_log: dict) -> bool:
            self._evals_log = evals_log  # type: ignore[assignment]  # Ray types it as None until set
            return False

    shard = ray.train.get_dataset_shard("train").materialize().to_pandas()
    train = xgb.DMatrix(shard[FEATURES], label=shard["label"], feature_names=FEATURES, base_margin=shard["offset"])
    xgb.train(
        config["params"],
        train,
        num_boost_round=config["rounds"],
        evals=[(train, "train")],
        callbacks=[ReportOnce(frequency=0, checkpoint_at_end=True)],
    )
