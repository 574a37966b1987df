"""Ray Train fits of the global forecasting models (Ray must be initialised by the caller).

- DeepAR or LSTM (pytorch-forecasting) with ``TorchTrainer``: every worker builds the same dataset,
  Lightning runs DDP (``RayDDPStrategy``) on the accelerator the ``TrainCompute`` names,
  ``RayTrainReportCallback`` saves and reports a checkpoint at the end of each epoch, and
  ``FailureConfig(max_failures=...)`` restarts the worker group after a failure, which resumes from
  the latest checkpoint (``ray.train.get_checkpoint()`` -> Lightning ``ckpt_path``). Each fit is a run
  of its own (``name`` and a random suffix): Ray Train restores a run folder's latest checkpoint into
  any later run of the same name and storage, which would resume another panel's network.
- The gradient-boosted global model with ``XGBoostTrainer`` (``training.ray_xgboost``, shared with the
  supplier risk model): the lag/rolling/calendar design matrix of ``training.features`` is sharded over
  workers, which train one booster through xgboost's collective (``device="cuda"`` on GPU workers).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import uuid4

import pandas as pd

from training.compute import TrainCompute
from training.features import FeatureSpec, design_matrix
from training.models.gradient_boosted import GradientBoostedForecaster
from training.models.neural import Kind, NeuralForecaster
from training.ray_retry import fit_once_more_if_ray_removed_its_workers
from training.ray_xgboost import LABEL, fit_xgboost_on_ray
from training.validation import validate_history

if TYPE_CHECKING:
    from ray.train.torch import TorchTrainer

CHECKPOINT_FILE = "checkpoint.ckpt"  # what ray.train.lightning.RayTrainReportCallback writes


@dataclass(frozen=True)
class NeuralTrainResult:
    checkpoint_dir: str
    metrics: dict[str, Any]
    attempts: int
    resumed_from_epoch: int | None
    # The Lightning accelerator class the workers actually ran on (``CPUAccelerator``, ``CUDAAccelerator``).
    accelerator: str


@dataclass(frozen=True)
class NeuralJob:
    """A configured, unfitted ``TorchTrainer`` with the loop configuration and compute it was given."""

    trainer: TorchTrainer
    config: dict[str, Any]
    compute: TrainCompute


def neural_trainer(
    history: pd.DataFrame,
    freq: str,
    *,
    kind: Kind = "deepar",
    horizon: int = 14,
    context: int | None = None,
    epochs: int = 2,
    compute: TrainCompute | None = None,
    hidden_size: int = 16,
    batch_size: int = 64,
    storage_path: str | None = None,
    name: str = "demand-neural",
    max_failures: int = 1,
    fail_at_epoch: int | None = None,
) -> NeuralJob:
    """The ``TorchTrainer`` for DeepAR/LSTM on ``compute`` (two CPU workers by default), not yet fitted.

    The run is named ``name`` and a random suffix, its own folder under ``storage_path``: restarts of its worker
    group resume its checkpoints, and no later fit does (until 2026-12-07 every fit of one name and storage
    resumed the previous one's final checkpoint: the next tenant's run failed loading it, later nights never
    trained).

    ``fail_at_epoch`` injects a failure in every worker at the end of that epoch on the first attempt
    only (after its checkpoint was reported): the run must then resume from that checkpoint.
    """
    from ray.train import CheckpointConfig, FailureConfig, RunConfig
    from ray.train.torch import TorchTrainer

    compute = compute or TrainCompute()
    validate_history(history, freq)
    storage = storage_path or tempfile.mkdtemp(prefix="chainsight-train-")
    run_name = f"{name}-{uuid4().hex}"
    config = {
        "history": history[["unique_id", "ds", "y"]],
        "freq": freq,
        "kind": kind,
        "horizon": horizon,
        "context": context or 4 * horizon,
        "epochs": epochs,
        "hidden_size": hidden_size,
        "batch_size": batch_size,
        "accelerator": compute.lightning_accelerator,
        "fail_at_epoch": fail_at_epoch,
        # Failure markers live beside the checkpoints, where every worker of every attempt can see them.
        "marker_dir": str(Path(storage) / f"{run_name}-markers"),
    }
    trainer = TorchTrainer(
        _neural_loop,
        train_loop_config=config,
        scaling_config=compute.scaling_config(),
        run_config=RunConfig(
            name=run_name,
            storage_path=storage,
            checkpoint_config=CheckpointConfig(num_to_keep=2),
            failure_config=FailureConfig(max_failures=max_failures),
        ),
    )
    return NeuralJob(trainer, config, compute)


def train_neural(history: pd.DataFrame, freq: str, **options: Any) -> NeuralTrainResult:
    """Fit DeepAR/LSTM with Ray Train; ``options`` are ``neural_trainer``'s."""
    from ray.train import TrainingFailedError

    job = neural_trainer(history, freq, **options)
    name, config = job.trainer.run_config.name, job.config
    try:
        result = fit_once_more_if_ray_removed_its_workers(job.trainer.fit)
    except TrainingFailedError as exc:
        raise RuntimeError(f"Ray Train run {name} failed after its restart budget: {exc}") from exc
    if result.error is not None or result.checkpoint is None:
        raise RuntimeError(f"Ray Train run {name} failed: {result.error}")
    markers = Path(config["marker_dir"])
    resumed = sorted(markers.glob("resumed-*"))
    return NeuralTrainResult(
        checkpoint_dir=result.checkpoint.path,
        metrics=dict(result.metrics or {}),
        attempts=1 + (1 if resumed else 0),
        resumed_from_epoch=int(resumed[0].read_text()) if resumed else None,
        accelerator=(markers / "accelerator").read_text(),
    )


def _neural_loop(config: dict[str, Any]) -> None:
    """Per worker: same dataset and network everywhere, DDP through Lightning, resume when restarted."""
    import lightning.pytorch as pl
    import ray.train
    from ray.train.lightning import RayDDPStrategy, RayLightningEnvironment, RayTrainReportCallback, prepare_trainer

    from training.models.neural import build_dataset, build_network, quiet_lightning, to_indexed

    quiet_lightning()
    pl.seed_everything(0, workers=True, verbose=False)
    history = validate_history(config["history"], config["freq"])
    dataset = build_dataset(to_indexed(history), config["horizon"], config["context"])
    network = build_network(config["kind"], dataset, config["hidden_size"])
    rank = ray.train.get_context().get_world_rank()
    callbacks: list[pl.Callback] = [RayTrainReportCallback()]
    if config["fail_at_epoch"] is not None:
        callbacks.append(_FailOnce(config["fail_at_epoch"], Path(config["marker_dir"]), rank))
    trainer = prepare_trainer(
        pl.Trainer(
            max_epochs=config["epochs"],
            accelerator=config["accelerator"],
            devices="auto",
            strategy=RayDDPStrategy(find_unused_parameters=False),
            plugins=[RayLightningEnvironment()],
            callbacks=callbacks,
            gradient_clip_val=0.1,
            enable_progress_bar=False,
            enable_model_summary=False,
            enable_checkpointing=False,
            logger=False,
        )
    )
    if rank == 0:
        # What Lightning resolved the configured accelerator to, for the caller to check and log.
        marker_dir = Path(config["marker_dir"])
        marker_dir.mkdir(parents=True, exist_ok=True)
        (marker_dir / "accelerator").write_text(type(trainer.accelerator).__name__)
    loader = dataset.to_dataloader(train=True, batch_size=config["batch_size"], num_workers=0)
    checkpoint = ray.train.get_checkpoint()
    if checkpoint is None:
        trainer.fit(network, loader)
        return
    with checkpoint.as_directory() as directory:
        state = Path(directory) / CHECKPOINT_FILE
        if rank == 0:
            epoch = int(_torch_load(state)["epoch"])
            marker_dir = Path(config["marker_dir"])
            marker_dir.mkdir(parents=True, exist_ok=True)
            (marker_dir / f"resumed-{epoch}").write_text(str(epoch))
        # Our own checkpoint, holding pytorch-forecasting's normalisers: not a plain weights file.
        trainer.fit(network, loader, ckpt_path=str(state), weights_only=False)


def _torch_load(path: Path) -> dict[str, Any]:
    import torch

    state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=False)
    return state


class _FailOnce:
    """A Lightning callback raising at the end of ``epoch`` the first time a worker gets there."""

    def __new__(cls, epoch: int, marker_dir: Path, rank: int) -> Any:
        import lightning.pytorch as pl

        class FailOnce(pl.Callback):
            def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
                marker = marker_dir / f"failed-rank{rank}"
                if trainer.current_epoch == epoch and not marker.exists():
                    marker_dir.mkdir(parents=True, exist_ok=True)
                    marker.write_text("injected")
                    raise RuntimeError(f"injected failure of worker {rank} after epoch {epoch}")

        return FailOnce()


def load_neural(result: NeuralTrainResult, history: pd.DataFrame, freq: str, *, kind: Kind, horizon: int,
                context: int | None = None) -> NeuralForecaster:  # fmt: skip
    """The trained network as a Forecaster for ``history``."""
    path = str(Path(result.checkpoint_dir) / CHECKPOINT_FILE)
    return NeuralForecaster.from_checkpoint(path, kind, history, freq, horizon=horizon, context=context)


@dataclass(frozen=True)
class BoosterFit:
    """The point booster Ray Train fitted, and how to turn it into a forecaster for any history."""

    booster: Any  # xgboost.Booster
    options: dict[str, Any]
    freq: str
    checkpoint_dir: str

    def forecaster(self, history: pd.DataFrame) -> GradientBoostedForecaster:
        return GradientBoostedForecaster(**self.options).attach(self.booster, history, self.freq)


def fit_booster(
    history: pd.DataFrame,
    freq: str,
    *,
    compute: TrainCompute | None = None,
    rounds: int = 200,
    learning_rate: float = 0.05,
    max_depth: int = 6,
    storage_path: str | None = None,
) -> BoosterFit:
    """Fit the global gradient-boosted model with ``XGBoostTrainer``, one data shard per worker of ``compute``."""
    compute = compute or TrainCompute()
    clean = validate_history(history, freq, min_length=GradientBoostedForecaster.min_length)
    spec = FeatureSpec.for_frequency(freq)
    features, target = design_matrix(clean, spec)
    frame = pd.DataFrame(features, columns=spec.names).assign(**{LABEL: target})
    options: dict[str, Any] = {
        "n_estimators": rounds,
        "learning_rate": learning_rate,
        "max_depth": max_depth,
        "spec": spec,
    }
    params = xgboost_params(GradientBoostedForecaster(**options).params, compute)
    # A run of its own, as each neural fit: under a shared name Ray Train restores the last fit's checkpoints and
    # evicts older ones, one of which may be a champion's artifact.
    name = f"demand-xgboost-{uuid4().hex}"
    (fit,) = fit_xgboost_on_ray([frame], spec.names, params, rounds, compute, name=name, storage_path=storage_path)
    return BoosterFit(fit.booster, options, freq, fit.checkpoint_dir)


def train_xgboost(history: pd.DataFrame, freq: str, **options: Any) -> GradientBoostedForecaster:
    """``fit_booster`` on ``history``, as a forecaster of that history."""
    return fit_booster(history, freq, **options).forecaster(history)


def xgboost_params(params: dict[str, Any], compute: TrainCompute) -> dict[str, Any]:
    """Booster parameters for a Ray Train run: squared error, on the device the workers were given."""
    return {**params, "objective": "reg:squarederror", "device": compute.xgboost_device}
