"""Ray Train compute from settings and job arguments: CPU by default, GPUs only when asked for."""

from __future__ import annotations

import pytest

from common.config import Settings
from training.compute import TrainCompute
from training.errors import ForecastInputError


def test_settings_choose_the_gpu_path_and_job_arguments_override_them():
    settings = Settings(_env_file=None, train_workers=4, train_cpus_per_worker=3, train_gpus_per_worker=1)
    compute = TrainCompute.from_settings(settings, workers=2, gpus_per_worker=None)
    assert compute == TrainCompute(workers=2, cpus_per_worker=3, gpus_per_worker=1)
    assert (compute.use_gpu, compute.lightning_accelerator, compute.xgboost_device) == (True, "gpu", "cuda")


def test_default_settings_train_on_two_cpu_workers():
    compute = TrainCompute.from_settings(Settings(_env_file=None))
    assert compute == TrainCompute(workers=2, cpus_per_worker=1.0, gpus_per_worker=0.0)
    assert (compute.use_gpu, compute.lightning_accelerator, compute.xgboost_device) == (False, "cpu", "cpu")
    assert compute.resources_per_worker() == {"CPU": 1.0}


def test_zero_workers_are_refused():
    with pytest.raises(ForecastInputError, match="workers must be at least 1"):
        TrainCompute(workers=0)
