"""One xgboost booster fitted with Ray Train's ``XGBoostTrainer``, for every booster the project trains on Ray:
the global demand model (``training.ray_fits.fit_booster``) and the supplier disruption model
(``risk.training.ray_fitter``). Ray must be initialised by the caller (``common.ray_connection``).

The frame is sharded over the workers of a ``TrainCompute``; each builds a DMatrix from its shard (with a base
margin when an offset column is named) and calls ``xgboost.train``, whose collective Ray Train connects, on the
device the workers were given. The training metric is logged every round but reported, with the checkpoint,
only once at the end: each ``ray.train.report`` costs about 2 s here (see shared/NOTES.md).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from training.compute import TrainCompute

LABEL = "label"


@dataclass(frozen=True)
class RayBooster:
    booster: Any  # xgboost.Booster
    checkpoint_dir: str


def fit_xgboost_on_ray(
    frame: pd.DataFrame,
    features: Sequence[str],
    params: dict[str, Any],
    rounds: int,
    compute: TrainCompute,
    *,
    name: str,
    offset: str | None = None,
    storage_path: str | None = None,
) -> RayBooster:
    """Fit ``rounds`` rounds of ``params`` on ``frame``'s ``features`` against its ``label`` column (and its
    ``offset`` column as the base margin when given), one shard per worker of ``compute``."""
    import ray.data
    from ray.train import RunConfig
    from ray.train.xgboost import RayTrainReportCallback, XGBoostTrainer

    columns = [*features, LABEL, *([offset] if offset else [])]
    trainer = XGBoostTrainer(
        _train_loop,
        train_loop_config={
            "params": {**params, "device": compute.xgboost_device},
            "rounds": rounds,
            "features": list(features),
            "offset": offset,
        },
        scaling_config=compute.scaling_config(),
        run_config=RunConfig(name=name, storage_path=storage_path or tempfile.mkdtemp(prefix=f"chainsight-{name}-")),
        datasets={"train": ray.data.from_pandas(frame[columns])},
    )
    result = trainer.fit()
    if result.checkpoint is None:
        raise RuntimeError(f"Ray Train returned no checkpoint: {result.error}")
    return RayBooster(RayTrainReportCallback.get_model(result.checkpoint), result.checkpoint.path)


def _train_loop(config: dict[str, Any]) -> None:
    import ray.train
    import xgboost as xgb
    from ray.train.xgboost import RayTrainReportCallback

    class ReportAtEnd(RayTrainReportCallback):
        """Keep the evaluation log each round; report (with the checkpoint) only after the last one."""

        def after_iteration(self, model: xgb.Booster, epoch: int, evals_log: dict) -> bool:
            self._evals_log = evals_log  # type: ignore[assignment]  # Ray types it as None until set
            return False

    shard = ray.train.get_dataset_shard("train").materialize().to_pandas()
    names, offset = config["features"], config["offset"]
    train = xgb.DMatrix(
        shard[names], label=shard[LABEL], feature_names=names, base_margin=shard[offset] if offset else None
    )
    xgb.train(
        config["params"],
        train,
        num_boost_round=config["rounds"],
        evals=[(train, "train")],
        callbacks=[ReportAtEnd(frequency=0, checkpoint_at_end=True)],
    )
