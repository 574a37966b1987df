"""What a Ray Train run asks the cluster for, and what that means for the frameworks inside it.

CPU by default. ``gpus_per_worker > 0`` makes every worker request that many GPUs
(``ScalingConfig(use_gpu=True)``), Lightning use its ``"gpu"`` accelerator and xgboost train with
``device="cuda"``. Values come from settings (``TRAIN_WORKERS``, ``TRAIN_CPUS_PER_WORKER``,
``TRAIN_GPUS_PER_WORKER``) or from a job's arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from training.errors import ForecastInputError

if TYPE_CHECKING:
    from ray.train import ScalingConfig

    from common.config import Settings


@dataclass(frozen=True)
class TrainCompute:
    workers: int = 2
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ForecastInputError(f"workers must be at least 1, got {self.workers}")
        if self.cpus_per_worker <= 0 or self.gpus_per_worker < 0:
            raise ForecastInputError(
                f"cpus_per_worker must be > 0 and gpus_per_worker >= 0, got {self.cpus_per_worker}, "
                f"{self.gpus_per_worker}"
            )

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> TrainCompute:
        """Settings, with any non-None ``overrides`` (a job's ``--workers``/``--gpus-per-worker``) on top."""
        base = cls(settings.train_workers, settings.train_cpus_per_worker, settings.train_gpus_per_worker)
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})

    @property
    def use_gpu(self) -> bool:
        return self.gpus_per_worker > 0

    @property
    def lightning_accelerator(self) -> str:
        return "gpu" if self.use_gpu else "cpu"

    @property
    def xgboost_device(self) -> str:
        return "cuda" if self.use_gpu else "cpu"

    def resources_per_worker(self) -> dict[str, float]:
        resources = {"CPU": self.cpus_per_worker}
        if self.use_gpu:
            resources["GPU"] = self.gpus_per_worker
        return resources

    def scaling_config(self) -> ScalingConfig:
        from ray.train import ScalingConfig

        return ScalingConfig(
            num_workers=self.workers, use_gpu=self.use_gpu, resources_per_worker=self.resources_per_worker()
        )
