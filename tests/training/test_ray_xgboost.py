"""Several boosters in one Ray Train run: each learns its own frame, and each is in the run's checkpoint; each
worker trains on its own shard of every frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from training.compute import TrainCompute
from training.ray_xgboost import LABEL, checkpoint_file, fit_xgboost_on_ray, shard

pytestmark = pytest.mark.slow


def test_one_run_fits_each_frame_its_own_booster_and_checkpoints_them_all(ray_cluster, tmp_path):
    x = np.random.default_rng(7).normal(size=400)
    rising = pd.DataFrame({"x": x, LABEL: (x > 0).astype(float)})
    falling = pd.DataFrame({"x": x, LABEL: (x < 0).astype(float)})
    params = {"objective": "binary:logistic", "max_depth": 2, "eta": 0.3}
    fits = fit_xgboost_on_ray(
        [rising, falling], ["x"], params, 20, TrainCompute(workers=1), name="two-boosters", storage_path=str(tmp_path)
    )
    probe = xgb.DMatrix(pd.DataFrame({"x": [-2.0, 2.0]}))
    assert [list(np.round(fit.booster.predict(probe))) for fit in fits] == [[0.0, 1.0], [1.0, 0.0]]
    (directory,) = {fit.checkpoint_dir for fit in fits}
    assert sorted(p.name for p in Path(directory).glob("*.ubj")) == [checkpoint_file(0, 2), checkpoint_file(1, 2)]


def test_the_workers_shards_hold_every_row_of_a_frame_once():
    frame = pd.DataFrame({"x": range(11)})
    shards = [shard(frame, rank, 3) for rank in range(3)]
    assert [len(rows) for rows in shards] == [4, 4, 3]
    assert sorted(pd.concat(shards)["x"]) == list(range(11))
