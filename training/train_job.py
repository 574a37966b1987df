"""Train the global forecasting models with Ray Train and enter them for the champion title.

    ray job submit --address http://127.0.0.1:8265 --working-dir . -- \
        python -m deployments.jobs train --freq D --horizon 28 --models deepar,xgboost --epochs 5

Per tenant: the demand history's last ``horizon`` steps of every series are held out; the Ray Train
model (``training.ray_fits``) and the champion's own method, the nightly batch's forecast
(``training.planning.forecast_panel`` with the batch's profile: all-zero series at zero, demand
floored at zero), are both fitted on the rest and scored on those same windows. The trained model is
registered as a run of ``registry.champion_key(freq)`` with its parameters, compute, holdout metrics
and checkpoint, its forecasts from the full history are stored under the run, and it becomes the
champion only if its MASE beats the batch's; serving (``/ai/forecast/demand``) then answers from it
and names it.

Compute (workers, CPUs and GPUs per worker) comes from settings or ``--workers``/``--gpus-per-worker``:
CPU by default, Lightning's GPU accelerator and xgboost's ``device="cuda"`` when GPUs are asked for.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

import numpy as np
import pandas as pd

from common.errors import describe
from training import forecast_store, registry
from training import metrics as accuracy
from training.compute import TrainCompute
from training.frequency import BATCH_HORIZON, season_length
from training.job_args import at_least, check_horizon, names, non_negative_number, positive_number
from training.models.neural import Kind
from training.planning import DEFAULT_QUANTILES, Profile, forecast_panel
from training.ray_fits import fit_booster, load_neural, train_neural

logger = logging.getLogger("training.train_job")
KINDS = ("deepar", "lstm", "xgboost")
# A series is trained on only with this many horizons of history (the last one held out). The default horizon is the
# nightly batch's (frequency.BATCH_HORIZON): a run of fewer steps never takes a current batch champion's title
# (registry.promote_over_baseline), so until 2026-12-07 the default of 14 trained models that could only win by
# retiring the batch and leaving every 28-day request to be refitted; and the 3 years read hold ~157 weeks: until
# 2026-12-07 `--freq W` defaulted to 28 weeks too (224 needed) and trained nothing.
MIN_HISTORY_HORIZONS = 8


def holdout_errors(forecast: pd.DataFrame, train: pd.DataFrame, test: pd.DataFrame, freq: str) -> pd.DataFrame:
    """MASE, sMAPE and bias of ``forecast`` on ``test`` (the held-out last steps), one row per series (the index
    is its ``unique_id``)."""
    merged = test.merge(forecast, on=["unique_id", "ds"], how="inner")
    season = season_length(freq)
    rows = {}
    for uid, window in merged.groupby("unique_id"):
        y, f = window["y"].to_numpy(float), window["yhat"].to_numpy(float)
        insample = train.loc[train["unique_id"] == uid, "y"].to_numpy(float)
        rows[uid] = (accuracy.mase(y, f, insample, season), accuracy.smape(y, f), accuracy.bias(y, f))
    return pd.DataFrame.from_dict(rows, orient="index", columns=["mase", "smape", "bias"], dtype=float)


def holdout_scores(forecast: pd.DataFrame, train: pd.DataFrame, test: pd.DataFrame, freq: str) -> dict[str, float]:
    """Mean MASE, sMAPE and bias of ``forecast`` on ``test`` (the held-out last steps) over its series."""
    return mean_errors(holdout_errors(forecast, train, test, freq))


def mean_errors(errors: pd.DataFrame) -> dict[str, float]:
    """``holdout_errors``' means over the series (a series that cannot be scored makes them NaN, as before)."""
    return {name: float(np.mean(errors[name].to_numpy())) for name in ("mase", "smape", "bias")}


def holdout_windows(horizon: int, series: int, end: datetime) -> str:
    """What a trained run was scored on, dated: a champion of an earlier night was scored on other windows and is
    no yardstick for tonight's run (the registry compares errors only on the same windows)."""
    return f"the last {horizon} steps to {end:%Y-%m-%d} of {series} series"


def split_holdout(history: pd.DataFrame, horizon: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    from_end = history.groupby("unique_id").cumcount(ascending=False)
    return history[from_end >= horizon], history[from_end < horizon]


def statistical_holdout(train: pd.DataFrame, freq: str, horizon: int, profile: Profile = "full") -> pd.DataFrame:
    """The champion's method fitted on ``train``: the nightly batch's forecast (its default profile is ``full``), as
    the batch serves it, all-zero series at zero and demand floored at zero. A trained model that loses to what the
    batch would serve is never promoted (until 2026-12-07 the yardstick was the ``fast`` selection, unclipped)."""
    return forecast_panel(train, freq, horizon, DEFAULT_QUANTILES, profile=profile).forecast


def fit_kind(
    kind: str,
    train: pd.DataFrame,
    history: pd.DataFrame,
    freq: str,
    *,
    horizon: int,
    epochs: int,
    compute: TrainCompute,
    storage_path: str,
    tenant_id: UUID | None = None,
) -> tuple[Any, Any, str, str]:
    """Fit ``kind`` on ``train`` with Ray Train; returns the model on ``train`` (to score), the same trained
    model on the full ``history`` (to forecast from), the artifact location and the accelerator used. A neural
    run is named after the model, ``kind`` and ``tenant_id`` (``ray_fits`` makes each fit's name unique)."""
    if kind == "xgboost":
        fit = fit_booster(train, freq, compute=compute, storage_path=storage_path)
        return fit.forecaster(train), fit.forecaster(history), fit.checkpoint_dir, compute.xgboost_device
    if kind not in KINDS:  # the job's --models refuses one before any work; a caller's is this kind's failure
        raise ValueError(f"unknown model {kind!r}; choose from {', '.join(KINDS)}")
    neural = cast(Kind, kind)
    name = f"{registry.champion_key(freq)}-{kind}" + (f"-{tenant_id}" if tenant_id else "")
    result = train_neural(
        train, freq, kind=neural, horizon=horizon, epochs=epochs, compute=compute, storage_path=storage_path, name=name
    )
    model = load_neural(result, train, freq, kind=neural, horizon=horizon)
    serving = load_neural(result, history, freq, kind=neural, horizon=horizon)
    return model, serving, result.checkpoint_dir, result.accelerator


async def train_and_register(
    database_url: str,
    tenant_id: UUID,
    *,
    freq: str,
    horizon: int,
    compute: TrainCompute,
    epochs: int,
    kinds: Sequence[str],
    as_of: datetime,
    storage_path: str,
    profile: Profile = "full",
) -> list[dict[str, Any]]:
    """Train each model kind on the tenant's demand history, score it against the statistical selection on the
    same held-out windows, register it with its forecasts and promote it if it wins. A kind whose fit fails
    (``fit_errors``) is logged, its run marked failed and its outcome given the ``error``; the next kind trains."""
    from common.config import Settings
    from common.database import create_pool
    from training import history as ledger

    settings = Settings(_env_file=None, database_url=database_url, database_pool_min_size=1, database_pool_max_size=2)
    pool = await create_pool(settings)
    outcomes = []
    try:
        async with pool.acquire() as proxy:
            conn = cast(Any, proxy)
            # One read of the tenant's calendar: the panel ends where the runs' training data is said to end.
            period = await ledger.current_period(conn, as_of, freq, tenant_id=tenant_id)
            panel = await ledger.demand_history(conn, freq=freq, as_of=as_of, tenant_id=tenant_id, period=period)
            panel = panel[panel.groupby("unique_id")["y"].transform("size") >= MIN_HISTORY_HORIZONS * horizon]
            if panel.empty:
                return [{"tenant_id": str(tenant_id), "skipped": "no series long enough"}]
            ids = panel.drop_duplicates("unique_id").set_index("unique_id")[["product_id", "warehouse_id"]]
            history = panel[["unique_id", "ds", "y"]]
            train, test = split_holdout(history, horizon)
            series = int(history["unique_id"].nunique())
            boundary = period.tz_localize(UTC).to_pydatetime()
            windows = holdout_windows(horizon, series, boundary)
            baseline = holdout_scores(statistical_holdout(train, freq, horizon, profile), train, test, freq)
            for kind in kinds:
                run = await registry.start_run(
                    conn, tenant_id, model_name=registry.champion_key(freq), model_type=kind,
                    run_key=registry.trained_run_key(kind, boundary, horizon), freq=freq, horizon=horizon,
                    params={**asdict(compute), "epochs": epochs, "trainer": "ray.train"}, training_end=boundary,
                    training_start=pd.Timestamp(history["ds"].min()).tz_localize(UTC).to_pydatetime(),
                )  # fmt: skip
                outcome = {"tenant_id": str(tenant_id), "model": kind, "run_id": str(run.id), "version": run.version}
                try:
                    model, serving, artifact, device = fit_kind(
                        kind, train, history, freq, horizon=horizon, epochs=epochs, compute=compute,
                        storage_path=storage_path, tenant_id=tenant_id,
                    )  # fmt: skip
                    errors = holdout_errors(model.predict(horizon), train, test, freq)
                    forecast = serving.predict(horizon, DEFAULT_QUANTILES).join(ids, on="unique_id").assign(model=kind)
                except fit_errors() as exc:
                    # This kind failed: the tenant's other kinds still train (until 2026-12-07 it ended them all).
                    logger.exception("tenant %s %s v%d: training failed", tenant_id, kind, run.version)
                    await registry.fail_run(conn, tenant_id, run.id, error=describe(exc))
                    outcomes.append({**outcome, "error": describe(exc)})
                    continue
                except BaseException as exc:
                    # A run left 'running' would stay so for ever (see registry.fail_run), interrupted or exited too
                    # (until 2026-12-07 only an Exception marked it failed).
                    await registry.fail_run(conn, tenant_id, run.id, error=describe(exc))
                    raise
                scores = mean_errors(errors)
                metrics = {**scores, "statistical_mase": baseline["mase"], "holdout": windows, "device": device}
                try:
                    await forecast_store.write_forecasts(conn, tenant_id, run.id, forecast)
                    # Each series' own error, served with its forecasts (registry.RUN_COLUMNS leaves it out of records);
                    # its keys are the series serving answers from this run's checkpoint (training.trained_series).
                    per_series = {"series_mase": errors["mase"].to_dict()}
                    await registry.finish_run(
                        conn, tenant_id, run.id, metrics=metrics | per_series, series_count=series,
                        artifact_uri=artifact,
                    )  # fmt: skip
                except BaseException as exc:
                    await registry.fail_run(conn, tenant_id, run.id, error=describe(exc))
                    raise
                decision = await registry.promote_over_baseline(
                    conn, tenant_id, run.id, ours=scores["mase"], baseline=baseline["mase"], windows=windows
                )
                outcomes.append({**outcome, **metrics, "artifact": artifact, "promoted": decision.promoted,
                                 "reason": decision.reason})  # fmt: skip
                logger.info("tenant %s %s v%d: %s; %s", tenant_id, kind, run.version, scores, decision.reason)
    finally:
        await pool.close()
    return outcomes


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m deployments.jobs train", description=__doc__.split("\n")[0])
    parser.add_argument("--freq", choices=["D", "W"], default="D")
    # Bad values are refused here, before any work (training.job_args).
    parser.add_argument("--horizon", type=int, help="steps (default: the nightly batch's, 28 for D, 13 for W)")
    parser.add_argument("--workers", type=at_least(1), default=None, help="Ray Train workers (default: TRAIN_WORKERS)")
    parser.add_argument("--cpus-per-worker", type=positive_number, default=None, help="default: TRAIN_CPUS_PER_WORKER")
    parser.add_argument("--gpus-per-worker", type=non_negative_number, default=None,
                        help="> 0 trains on GPU (default: TRAIN_GPUS_PER_WORKER, 0)")  # fmt: skip
    parser.add_argument("--epochs", type=at_least(1), default=5)
    parser.add_argument("--models", type=names(KINDS, "model"), default="deepar,xgboost",
                        help="comma-separated: deepar, lstm, xgboost")  # fmt: skip
    parser.add_argument("--tenant", type=UUID, action="append", help="only these tenants (repeatable)")
    parser.add_argument("--profile", choices=["fast", "full"], default="full",
                        help="the baseline's: the nightly batch's --profile (its default, full)")  # fmt: skip
    parser.add_argument("--storage-path", default=os.environ.get("CHAINSIGHT_TRAIN_STORAGE") or None,
                        help="where checkpoints go: a URI or a volume every worker and replica mounts")  # fmt: skip
    args = parser.parse_args(argv)
    if args.horizon is None:
        args.horizon = BATCH_HORIZON[args.freq]
    check_horizon(parser, args.horizon, args.freq)
    return args


def main(argv: Sequence[str] | None = None) -> None:
    from common.config import get_settings
    from common.ray_connection import ray_session

    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    if not settings.database_url:
        raise SystemExit("DATABASE_URL is not set")
    compute = TrainCompute.from_settings(
        settings, workers=args.workers, cpus_per_worker=args.cpus_per_worker, gpus_per_worker=args.gpus_per_worker
    )
    known = asyncio.run(_tenants(settings.database_url))
    # A mistyped tenant would train nothing and exit 0, as if its series were too short (run_batch refuses it too).
    unknown = sorted(str(tenant) for tenant in set(args.tenant or ()) - set(known))
    if unknown:
        raise SystemExit(f"no tenant {', '.join(unknown)}")
    tenants = args.tenant or known
    with ray_session():
        import ray

        storage = checkpoint_storage(args.storage_path, ray.nodes(), ray.get_runtime_context().get_node_id())
        outcomes = train_tenants(
            settings.database_url,
            tenants,
            freq=args.freq,
            horizon=args.horizon,
            compute=compute,
            epochs=args.epochs,
            kinds=args.models,
            storage_path=storage,
            profile=args.profile,
        )
        print(json.dumps({"train_job": outcomes}, default=str))
    failure = job_failure(outcomes, tenants)
    if failure:
        raise SystemExit(failure)


def fit_errors() -> tuple[type[Exception], ...]:
    """What a model kind's fit raises when that fit fails (its data, its Ray Train run, its checkpoint storage), as
    opposed to a programming error, which ends the tenant's training as it did. Ray is imported here, not by the
    module: the job's Ray session starts in ``main``."""
    from ray.exceptions import RayError
    from ray.train import TrainingFailedError

    return RuntimeError, ValueError, OSError, RayError, TrainingFailedError


def job_failure(outcomes: Sequence[dict[str, Any]], tenants: Sequence[UUID]) -> str | None:
    """What the job exits with when a tenant's training, or one model kind of it, failed (``error`` in its
    outcome); None when nothing did. A tenant whose other kinds trained still fails the job."""
    failed = [o for o in outcomes if "error" in o]
    if not failed:
        return None
    named = ", ".join(o["tenant_id"] + (f" {o['model']}" if "model" in o else "") for o in failed)
    count = len({o["tenant_id"] for o in failed})
    return f"training failed for {count} of {len(tenants)} tenants: {named}"


def train_tenants(database_url: str, tenants: Sequence[UUID], **options: Any) -> list[dict[str, Any]]:
    """``train_and_register`` for each tenant in turn, as of now (``options`` are its keywords). One tenant's failure
    (its data, a lost connection, a Ray Train run) does not leave the later tenants untrained: it is logged with its
    traceback and named in the outcomes (``error``); the run it broke is already marked failed. The job then exits
    non-zero (until 2026-12-07 the first failure ended it)."""
    outcomes: list[dict[str, Any]] = []
    for tenant in tenants:
        try:
            outcomes += asyncio.run(train_and_register(database_url, tenant, as_of=datetime.now(UTC), **options))
        except Exception as exc:
            logger.exception("tenant %s: training failed", tenant)
            outcomes.append({"tenant_id": str(tenant), "error": describe(exc)})
    return outcomes


def checkpoint_storage(given: str | None, nodes: Sequence[dict[str, Any]], driver_node_id: str) -> str:
    """``given``; without one, a temporary folder, but only where the workers share the driver's disk: on a
    cluster of several nodes (or whose driver node has no CPU for them, as a RayJob's head) the checkpoints
    the workers write would not be where the driver and the serving replicas read them."""
    if given:
        return given
    alive = [n for n in nodes if n.get("Alive")]
    driver = next((n for n in alive if n.get("NodeID") == driver_node_id), None)
    if len(alive) > 1 or driver is None or not driver.get("Resources", {}).get("CPU"):
        raise SystemExit(
            "training on a Ray cluster of several nodes needs --storage-path (or CHAINSIGHT_TRAIN_STORAGE): an "
            "object-store URI or a volume every pod mounts"
        )
    return tempfile.mkdtemp(prefix="chainsight-train-")


async def _tenants(database_url: str) -> list[UUID]:
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        return [r["id"] for r in await conn.fetch("SELECT id FROM app.tenants ORDER BY created_at, id")]
    finally:
        await conn.close()
