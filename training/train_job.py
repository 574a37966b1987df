"""Train the global forecasting models with Ray Train and register them: ``python -m training.train_job``.

    ray job submit -- python -m training.train_job --freq D --horizon 14 --workers 2 --epochs 5

- DeepAR or LSTM (pytorch-forecasting) with ``TorchTrainer``: every worker builds the same dataset,
  Lightning runs DDP on CPU (``RayDDPStrategy``), ``RayTrainReportCallback`` saves and reports a
  checkpoint at the end of each epoch, and ``FailureConfig(max_failures=...)`` restarts the worker
  group after a failure, which resumes from the latest checkpoint (``ray.train.get_checkpoint()``
  -> Lightning ``ckpt_path``) instead of starting over.
- The gradient-boosted global model with ``XGBoostTrainer``: the lag/rolling/calendar design matrix
  of ``training.features`` is sharded over workers, which train one booster through xgboost's
  collective; it reports once, at the end (each report costs about 2 s here).

Each model is evaluated on the last ``horizon`` steps of every series (trained without them), and
recorded in the model registry with its parameters, training window, metrics and artifact (the Ray
Train checkpoint directory); it is promoted only if it beats its champion.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import numpy as np
import pandas as pd

from training import metrics as accuracy
from training.features import FeatureSpec, design_matrix
from training.frequency import season_length
from training.models.gradient_boosted import GradientBoostedForecaster
from training.models.neural import Kind, NeuralForecaster
from training.validation import validate_history

logger = logging.getLogger("training.train_job")
CHECKPOINT_FILE = "checkpoint.ckpt"  # what ray.train.lightning.RayTrainReportCallback writes


@dataclass(frozen=True)
class NeuralTrainResult:
    checkpoint_dir: str
    metrics: dict[str, Any]
    attempts: int
    resumed_from_epoch: int | None


def train_neural(
    history: pd.DataFrame,
    freq: str,
    *,
    kind: Kind = "deepar",
    horizon: int = 14,
    context: int | None = None,
    epochs: int = 2,
    workers: int = 2,
    hidden_size: int = 16,
    batch_size: int = 64,
    storage_path: str | None = None,
    name: str = "demand-neural",
    max_failures: int = 1,
    fail_at_epoch: int | None = None,
) -> NeuralTrainResult:
    """Fit DeepAR/LSTM over ``workers`` Ray Train workers (Ray must be initialised by the caller).

    ``fail_at_epoch`` injects a failure in every worker at the end of that epoch on the first attempt
    only (after its checkpoint was reported): the run must then resume from that checkpoint.
    """
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig, TrainingFailedError
    from ray.train.torch import TorchTrainer

    validate_history(history, freq)
    storage = storage_path or tempfile.mkdtemp(prefix="chainsight-train-")
    config = {
        "history": history[["unique_id", "ds", "y"]],
        "freq": freq,
        "kind": kind,
        "horizon": horizon,
        "context": context or 4 * horizon,
        "epochs": epochs,
        "hidden_size": hidden_size,
        "batch_size": batch_size,
        "fail_at_epoch": fail_at_epoch,
        # Failure markers live beside the checkpoints, where every worker of every attempt can see them.
        "marker_dir": str(Path(storage) / f"{name}-markers"),
    }
    trainer = TorchTrainer(
        _neural_loop,
        train_loop_config=config,
        scaling_config=ScalingConfig(num_workers=workers, use_gpu=False, resources_per_worker={"CPU": 1}),
        run_config=RunConfig(
            name=name,
            storage_path=storage,
            checkpoint_config=CheckpointConfig(num_to_keep=2),
            failure_config=FailureConfig(max_failures=max_failures),
        ),
    )
    try:
        result = trainer.fit()
    except TrainingFailedError as exc:
        raise RuntimeError(f"Ray Train run {name} failed after {max_failures} restart(s): {exc}") from exc
    if result.error is not None or result.checkpoint is None:
        raise RuntimeError(f"Ray Train run {name} failed: {result.error}")
    markers = Path(config["marker_dir"])
    resumed = sorted(markers.glob("resumed-*")) if markers.exists() else []
    return NeuralTrainResult(
        checkpoint_dir=result.checkpoint.path,
        metrics=dict(result.metrics or {}),
        attempts=1 + (1 if resumed else 0),
        resumed_from_epoch=int(resumed[0].read_text()) if resumed else None,
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
            accelerator="cpu",
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


def train_xgboost(
    history: pd.DataFrame,
    freq: str,
    *,
    workers: int = 2,
    rounds: int = 200,
    learning_rate: float = 0.05,
    max_depth: int = 6,
    storage_path: str | None = None,
) -> GradientBoostedForecaster:
    """Fit the global gradient-boosted model with ``XGBoostTrainer`` over ``workers`` data shards."""
    import ray.data
    from ray.train import RunConfig, ScalingConfig
    from ray.train.xgboost import RayTrainReportCallback, XGBoostTrainer

    clean = validate_history(history, freq, min_length=GradientBoostedForecaster.min_length)
    spec = FeatureSpec.for_frequency(freq)
    features, target = design_matrix(clean, spec)
    frame = pd.DataFrame(features, columns=spec.names).assign(label=target)
    model = GradientBoostedForecaster(n_estimators=rounds, learning_rate=learning_rate, max_depth=max_depth, spec=spec)
    trainer = XGBoostTrainer(
        _xgboost_loop,
        train_loop_config={"params": {**model.params, "objective": "reg:squarederror"}, "rounds": rounds},
        scaling_config=ScalingConfig(num_workers=workers, use_gpu=False, resources_per_worker={"CPU": 1}),
        run_config=RunConfig(name="demand-xgboost", storage_path=storage_path or tempfile.mkdtemp(prefix="cs-xgb-")),
        datasets={"train": ray.data.from_pandas(frame)},
    )
    result = trainer.fit()
    if result.checkpoint is None:
        raise RuntimeError(f"Ray Train returned no checkpoint: {result.error}")
    return model.attach(RayTrainReportCallback.get_model(result.checkpoint), clean, freq)


def _xgboost_loop(config: dict[str, Any]) -> None:
    import ray.train
    import xgboost as xgb
    from ray.train.xgboost import RayTrainReportCallback

    class ReportAtEnd(RayTrainReportCallback):
        def after_iteration(self, model: xgb.Booster, epoch: int, evals_log: dict) -> bool:
            return False

    shard = ray.train.get_dataset_shard("train").materialize().to_pandas()
    names = [c for c in shard.columns if c != "label"]
    train = xgb.DMatrix(shard[names], label=shard["label"], feature_names=names)
    xgb.train(
        config["params"],
        train,
        num_boost_round=config["rounds"],
        callbacks=[ReportAtEnd(frequency=0, checkpoint_at_end=True)],
    )


def holdout_scores(forecast: pd.DataFrame, train: pd.DataFrame, test: pd.DataFrame, freq: str) -> dict[str, float]:
    """Mean MASE, sMAPE and bias of ``forecast`` on ``test`` (the held-out last steps)."""
    merged = test.merge(forecast, on=["unique_id", "ds"], how="inner")
    season = season_length(freq)
    rows = []
    for uid, window in merged.groupby("unique_id"):
        y, f = window["y"].to_numpy(float), window["yhat"].to_numpy(float)
        insample = train.loc[train["unique_id"] == uid, "y"].to_numpy(float)
        rows.append((accuracy.mase(y, f, insample, season), accuracy.smape(y, f), accuracy.bias(y, f)))
    table = np.array(rows, dtype=float)
    return {
        "mase": float(np.mean(table[:, 0])),
        "smape": float(np.mean(table[:, 1])),
        "bias": float(np.mean(table[:, 2])),
    }


def split_holdout(history: pd.DataFrame, horizon: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    from_end = history.groupby("unique_id").cumcount(ascending=False)
    return history[from_end >= horizon], history[from_end < horizon]


async def train_and_register(
    database_url: str,
    tenant_id: UUID,
    *,
    freq: str,
    horizon: int,
    workers: int,
    epochs: int,
    kinds: Sequence[str],
    as_of: datetime,
    storage_path: str,
) -> list[dict[str, Any]]:
    """Train each model kind on the tenant's demand history, evaluate, register and maybe promote."""
    from common.config import Settings
    from common.database import create_pool
    from training import history as ledger
    from training import registry

    settings = Settings(_env_file=None, database_url=database_url, database_pool_min_size=1, database_pool_max_size=2)
    pool = await create_pool(settings)
    outcomes = []
    try:
        async with pool.acquire() as proxy:
            conn = cast(Any, proxy)
            panel = await ledger.demand_history(conn, freq=freq, as_of=as_of, tenant_id=tenant_id)
            panel = panel[panel.groupby("unique_id")["y"].transform("size") >= 8 * horizon]
            if panel.empty:
                return [{"tenant_id": str(tenant_id), "skipped": "no series long enough"}]
            history = panel[["unique_id", "ds", "y"]]
            train, test = split_holdout(history, horizon)
            boundary = ledger.period_start(as_of, freq).tz_localize(UTC).to_pydatetime()
            for kind in kinds:
                run = await registry.start_run(
                    conn, tenant_id, model_name=f"demand-{freq}-{kind}", model_type=kind,
                    run_key=f"train/{boundary:%Y-%m-%d}/h{horizon}", freq=freq, horizon=horizon,
                    params={"workers": workers, "epochs": epochs}, training_end=boundary,
                    training_start=pd.Timestamp(history["ds"].min()).tz_localize(UTC).to_pydatetime(),
                )  # fmt: skip
                if kind == "xgboost":
                    model: Any = train_xgboost(train, freq, workers=workers, storage_path=storage_path)
                    artifact = storage_path
                else:
                    result = train_neural(
                        train, freq, kind=cast(Kind, kind), horizon=horizon, epochs=epochs, workers=workers,
                        storage_path=storage_path, name=f"demand-{kind}",
                    )  # fmt: skip
                    model = load_neural(result, train, freq, kind=cast(Kind, kind), horizon=horizon)
                    artifact = result.checkpoint_dir
                scores = holdout_scores(model.predict(horizon), train, test, freq)
                await registry.finish_run(
                    conn, tenant_id, run.id, metrics=scores, series_count=history["unique_id"].nunique(),
                    artifact_uri=artifact,
                )  # fmt: skip
                decision = await registry.promote_if_better(conn, tenant_id, run.id)
                outcome = {"tenant_id": str(tenant_id), "model": kind, "version": run.version, "artifact": artifact}
                outcomes.append({**outcome, **scores, "promoted": decision.promoted, "reason": decision.reason})
                logger.info("tenant %s %s v%d: %s; %s", tenant_id, kind, run.version, scores, decision.reason)
    finally:
        await pool.close()
    return outcomes


def main(argv: Sequence[str] | None = None) -> None:
    import ray

    from common.config import get_settings

    parser = argparse.ArgumentParser(prog="python -m training.train_job", description=__doc__.split("\n")[0])
    parser.add_argument("--freq", choices=["D", "W"], default="D")
    parser.add_argument("--horizon", type=int, default=14)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--models", default="deepar,xgboost", help="comma-separated: deepar, lstm, xgboost")
    parser.add_argument("--tenant", type=UUID, action="append", help="only these tenants (repeatable)")
    parser.add_argument("--storage-path", default=os.environ.get("CHAINSIGHT_TRAIN_STORAGE") or None,
                        help="where checkpoints go: a URI or a volume every worker mounts")  # fmt: skip
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    if not settings.database_url:
        raise SystemExit("DATABASE_URL is not set")
    storage = args.storage_path or tempfile.mkdtemp(prefix="chainsight-train-")
    ray.init(address=settings.ray_address, include_dashboard=False)
    try:
        tenants = args.tenant or asyncio.run(_tenants(settings.database_url))
        outcomes = []
        for tenant in tenants:
            outcomes += asyncio.run(
                train_and_register(
                    settings.database_url,
                    tenant,
                    freq=args.freq,
                    horizon=args.horizon,
                    workers=args.workers,
                    epochs=args.epochs,
                    kinds=args.models.split(","),
                    as_of=datetime.now(UTC),
                    storage_path=storage,
                )
            )
        print(json.dumps({"train_job": outcomes}, default=str))
    finally:
        ray.shutdown()


async def _tenants(database_url: str) -> list[UUID]:
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        return [r["id"] for r in await conn.fetch("SELECT id FROM app.tenants ORDER BY created_at, id")]
    finally:
        await conn.close()


if __name__ == "__main__":
    main()
