"""xgboost boosters fitted with Ray Train's ``XGBoostTrainer``, for every booster the project trains on Ray:
the global demand model (``training.ray_fits.fit_booster``) and the supplier disruption model
(``risk.training.ray_fitter``, whose validation fits and final fit share one run). Ray must be initialised by
the caller (``common.ray_connection``).

Each frame goes into Ray's object store once; each worker of a ``TrainCompute`` reads it from there, takes its
shard (every ``world_size``-th row from its rank), builds a DMatrix from it (with a base margin when an offset
column is named) and calls ``xgboost.train``, whose collective Ray Train connects, on the device the workers were
given. Not Ray Data: a DMatrix holds its whole shard in memory anyway, so streaming buys nothing, while Ray Data
starts coordinator actors (one split coordinator per frame) that cost more than a small fit's training. The
training metric is logged every round but reported, with the checkpoint, only once at the end: each
``ray.train.report`` costs about 2 s here (see shared/NOTES.md).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from training.compute import TrainCompute
from training.ray_retry import fit_once_more_if_ray_removed_its_workers

LABEL = "label"
CHECKPOINT_FILE = "model.ubj"  # where ray.train.xgboost.RayTrainReportCallback puts a booster; serving reads it


@dataclass(frozen=True)
class RayBooster:
    booster: Any  # xgboost.Booster
    checkpoint_dir: str


def fit_xgboost_on_ray(
    frames: Sequence[pd.DataFrame],
    features: Sequence[str],
    params: dict[str, Any],
    rounds: int,
    compute: TrainCompute,
    *,
    name: str,
    offset: str | None = None,
    storage_path: str | None = None,
) -> list[RayBooster]:
    """One booster per frame: ``rounds`` rounds of ``params`` on its ``features`` against its ``label`` column
    (and its ``offset`` column as the base margin when given), one shard per worker of ``compute``. The frames
    are fitted one after the other by the same Ray Train run: the workers, their imports and the collective
    start once, which is most of a small fit's time. The boosters share one checkpoint directory
    (``checkpoint_file``)."""
    import ray
    import xgboost as xgb
    from ray.train import RunConfig
    from ray.train.xgboost import XGBoostTrainer

    if not frames:
        return []
    columns = [*features, LABEL, *([offset] if offset else [])]
    trainer = XGBoostTrainer(
        _train_loop,
        train_loop_config={
            "params": {**params, "device": compute.xgboost_device},
            "rounds": rounds,
            "features": list(features),
            "offset": offset,
            "frames": [ray.put(frame[columns]) for frame in frames],
        },
        scaling_config=compute.scaling_config(),
        run_config=RunConfig(name=name, storage_path=storage_path or tempfile.mkdtemp(prefix=f"chainsight-{name}-")),
    )
    result = fit_once_more_if_ray_removed_its_workers(trainer.fit)
    if result.checkpoint is None:
        raise RuntimeError(f"Ray Train returned no checkpoint: {result.error}")
    with result.checkpoint.as_directory() as directory:
        files = [Path(directory, checkpoint_file(i, len(frames))) for i in range(len(frames))]
        boosters = [xgb.Booster(model_file=str(file)) for file in files]
    return [RayBooster(booster, result.checkpoint.path) for booster in boosters]


def checkpoint_file(index: int, count: int) -> str:
    """The file of booster ``index`` of ``count`` in a run's checkpoint: one booster keeps the name Ray's
    ``RayTrainReportCallback`` gives it (``model.ubj``, which serving reads)."""
    return CHECKPOINT_FILE if count == 1 else f"model-{index}.ubj"


def shard(frame: pd.DataFrame, rank: int, world_size: int) -> pd.DataFrame:
    """Worker ``rank``'s rows of ``frame``: every ``world_size``-th row from its rank (each row on one worker)."""
    return frame.iloc[rank::world_size]


def _train_loop(config: dict[str, Any]) -> None:
    import ray.train
    import xgboost as xgb
    from ray.train import Checkpoint

    names, offset, frames = config["features"], config["offset"], config["frames"]
    context = ray.train.get_context()
    rank, world_size = context.get_world_rank(), context.get_world_size()
    boosters: list[Any] = []
    metrics: dict[str, float] = {}
    for index, frame in enumerate(frames):
        rows = shard(ray.get(frame), rank, world_size)
        train = xgb.DMatrix(
            rows[names], label=rows[LABEL], feature_names=names, base_margin=rows[offset] if offset else None
        )
        log: dict[str, Any] = {}
        rounds = config["rounds"]
        boosters.append(xgb.train(config["params"], train, rounds, evals=[(train, "train")], evals_result=log))
        # The training metric of each booster's last round, reported once at the end with the checkpoint.
        metrics |= {f"{index}-train-{metric}": values[-1] for metric, values in log["train"].items()}
    if rank != 0:
        ray.train.report(metrics, checkpoint=None)
        return
    with tempfile.TemporaryDirectory() as directory:
        for index, booster in enumerate(boosters):
            booster.save_model(str(Path(directory, checkpoint_file(index, len(boosters)))))
        ray.train.report(metrics, checkpoint=Checkpoint.from_directory(directory))
