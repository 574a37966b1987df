"""Ray Train: the global DeepAR with TorchTrainer (2 workers, DDP on CPU, resume after a failure) and the
global xgboost with XGBoostTrainer. Tiny panels and two epochs keep them to seconds of training each."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import numpy as np
import pandas as pd
import pytest

from tests.training.conftest import seasonal_panel
from tests.training.ledger_rows import post_daily_demand
from training import train_job
from training.compute import TrainCompute
from training.history import demand_history, series_id
from training.metrics import mase
from training.planning import forecast_panel
from training.ray_fits import (
    NeuralTrainResult,
    load_neural,
    neural_trainer,
    train_neural,
    train_xgboost,
    xgboost_params,
)
from training.registry import list_runs
from training.stored_forecast import series_holdout_mase
from training.train_job import checkpoint_storage, holdout_errors, holdout_scores, split_holdout, statistical_holdout

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


RESUMED_PANEL = seasonal_panel(n_series=6, length=90, freq="D", season=7)


@pytest.fixture(scope="module")
def resumed_deepar(ray_cluster, tmp_path_factory) -> tuple[NeuralTrainResult, Path]:
    """One DeepAR run on two workers, failed by injection after epoch 0 and resumed, and its storage: the resume
    test checks the run, the next test fits again under its name and storage (one Ray Train run fewer)."""
    storage = tmp_path_factory.mktemp("deepar-storage")
    result = train_neural(
        RESUMED_PANEL, "D", kind="deepar", horizon=7, context=14, epochs=2, compute=TrainCompute(workers=2),
        storage_path=str(storage), name="demand-D-deepar", max_failures=1, fail_at_epoch=0,
    )  # fmt: skip
    return result, storage


def test_deepar_on_two_workers_resumes_from_its_checkpoint_after_an_injected_failure(resumed_deepar):
    result, storage = resumed_deepar
    panel = RESUMED_PANEL
    # The first attempt failed after epoch 0's checkpoint; the second resumed there and ran epoch 1 only.
    assert result.attempts == 2
    assert result.resumed_from_epoch == 0
    assert result.metrics["epoch"] == 1
    # CPU by default: the workers' Lightning resolved the configured accelerator to its CPU one.
    assert result.accelerator == "CPUAccelerator"
    assert sorted(p.name for p in storage.glob("demand-D-deepar-*-markers/failed-rank*")) == [
        "failed-rank0",
        "failed-rank1",
    ]
    model = load_neural(result, panel, "D", kind="deepar", horizon=7, context=14)
    forecast = model.predict(7, [0.1, 0.5, 0.9])
    assert len(forecast) == 6 * 7
    assert np.isfinite(forecast[["yhat", "q0.1", "q0.9"]].to_numpy()).all()
    assert (forecast["q0.1"] <= forecast["q0.9"]).all()


def test_each_fit_is_a_run_of_its_own_under_the_same_name_and_storage(resumed_deepar):
    # Before, the second fit (the next tenant, or the next night) resumed the first one's final checkpoint: it trained
    # nothing more and its network failed to load for its own series ("Unknown category"). The first fit is the
    # resume test's run, whose checkpoints (epochs 0 and 1) are all in the storage the second fit shares.
    first, storage = resumed_deepar
    second_panel = seasonal_panel(n_series=2, length=42, freq="D", season=7, seed=1).assign(
        unique_id=lambda f: f["unique_id"].str.replace("seasonal", "other")
    )
    options = {"kind": "deepar", "horizon": 7, "context": 14, "epochs": 1, "compute": TrainCompute(workers=1)}
    second = train_neural(second_panel, "D", storage_path=str(storage), name="demand-D-deepar", **options)
    assert Path(first.checkpoint_dir).parent != Path(second.checkpoint_dir).parent
    assert second.resumed_from_epoch is None
    forecast = load_neural(second, second_panel, "D", kind="deepar", horizon=7, context=14).predict(7)
    assert sorted(forecast["unique_id"].unique()) == ["other0", "other1"]
    assert np.isfinite(forecast["yhat"].to_numpy()).all()


def test_one_tenants_failed_training_does_not_stop_the_others(monkeypatch):
    # Before, the first tenant whose training raised ended the job and every later tenant went untrained.
    broken, fine = uuid4(), uuid4()

    async def train_and_register(database_url, tenant_id, **options):
        if tenant_id == broken:
            raise RuntimeError("Ray Train run demand-D-deepar failed")
        return [{"tenant_id": str(tenant_id), "model": "deepar", "promoted": True}]

    monkeypatch.setattr(train_job, "train_and_register", train_and_register)
    outcomes = train_job.train_tenants("postgresql://unused", [broken, fine], freq="D", horizon=7)
    assert outcomes == [
        {"tenant_id": str(broken), "error": "RuntimeError: Ray Train run demand-D-deepar failed"},
        {"tenant_id": str(fine), "model": "deepar", "promoted": True},
    ]


def test_without_a_failure_budget_the_injected_failure_fails_the_run(ray_cluster, tmp_path):
    panel = seasonal_panel(n_series=4, length=60, freq="D", season=7)
    # One worker: the failure budget is the run's, whatever its size (two workers are the resume test's).
    with pytest.raises(RuntimeError, match="failed"):
        train_neural(
            panel, "D", kind="lstm", horizon=7, context=14, epochs=1, compute=TrainCompute(workers=1),
            storage_path=str(tmp_path), name="lstm-no-retry", max_failures=0, fail_at_epoch=0,
        )  # fmt: skip


def test_xgboost_trainer_fits_the_global_model_that_beats_seasonal_naive(ray_cluster, tmp_path):
    panel = seasonal_panel(n_series=4, length=72, freq="MS", season=12)
    train, test = split_holdout(panel, 12)
    model = train_xgboost(train, "MS", compute=TrainCompute(workers=2), rounds=60, storage_path=str(tmp_path))
    forecast = model.predict(12, [0.1, 0.9])
    ours = holdout_scores(forecast, train, test, "MS")
    last_season = train.groupby("unique_id").tail(12).assign(ds=test["ds"].to_numpy(), yhat=lambda f: f["y"])
    naive = holdout_scores(last_season[["unique_id", "ds", "yhat"]], train, test, "MS")
    assert ours["mase"] < naive["mase"]
    assert (forecast["q0.1"] <= forecast["q0.9"]).all()
    # A run of its own under the shared storage (before, every fit was the run "demand-xgboost").
    (run,) = [p.name for p in tmp_path.iterdir() if p.name.startswith("demand-xgboost")]
    assert len(run) == len("demand-xgboost-") + 32


def test_gpu_compute_requests_gpus_per_worker_and_selects_lightning_gpu_and_xgboost_cuda(tmp_path):
    panel = seasonal_panel(n_series=2, length=60, freq="D", season=7)
    compute = TrainCompute(workers=3, cpus_per_worker=2, gpus_per_worker=1)
    job = neural_trainer(panel, "D", kind="lstm", horizon=7, compute=compute, storage_path=str(tmp_path))
    scaling = job.trainer.scaling_config
    assert (scaling.num_workers, scaling.use_gpu) == (3, True)
    assert scaling.resources_per_worker == {"CPU": 2, "GPU": 1}
    assert job.config["accelerator"] == "gpu"
    assert xgboost_params({"eta": 0.1}, compute)["device"] == "cuda"


def test_default_compute_trains_on_cpu_workers_without_gpus(tmp_path):
    panel = seasonal_panel(n_series=2, length=60, freq="D", season=7)
    job = neural_trainer(panel, "D", kind="deepar", horizon=7, storage_path=str(tmp_path))
    assert (job.trainer.scaling_config.use_gpu, job.trainer.scaling_config.resources_per_worker) == (False, {"CPU": 1})
    assert job.config["accelerator"] == "cpu"
    assert xgboost_params({}, TrainCompute())["device"] == "cpu"


def test_training_on_several_nodes_without_shared_storage_is_refused_before_any_work():
    # Before, the driver picked a temporary folder of its own: the workers on other pods wrote their checkpoints to
    # theirs, and the run failed reading them after all the training time.
    head = {"NodeID": "head", "Alive": True, "Resources": {"CPU": 0.0}}
    worker = {"NodeID": "w1", "Alive": True, "Resources": {"CPU": 4.0}}
    for nodes in ([head, worker], [head]):  # a RayJob's head has no CPU: its workers are elsewhere, or to come
        with pytest.raises(SystemExit, match="needs --storage-path"):
            checkpoint_storage(None, nodes, "head")
    assert checkpoint_storage("s3://bucket/train", [head, worker], "head") == "s3://bucket/train"
    one_machine = {"NodeID": "local", "Alive": True, "Resources": {"CPU": 2.0}}
    assert checkpoint_storage(None, [one_machine, {**worker, "Alive": False}], "local").startswith("/")


def test_an_unknown_tenant_is_refused_by_name_before_ray_starts(settings, monkeypatch):
    # Until 2026-12-07 a mistyped --tenant trained nothing ('no series long enough') and the job exited 0.
    missing = uuid4()
    monkeypatch.setattr("common.config.get_settings", lambda: settings)

    def no_ray() -> None:
        raise AssertionError("Ray started for a tenant that does not exist")

    monkeypatch.setattr("common.ray_connection.ray_session", no_ray)
    with pytest.raises(SystemExit, match=f"no tenant {missing}"):
        train_job.main(["--tenant", str(missing)])


def test_the_baseline_a_trained_model_must_beat_is_the_forecast_the_nightly_batch_serves():
    # Products being phased out, their demand falling to zero: before, the baseline was the fast selection, unclipped,
    # whose negative forecasts scored worse than the batch's, so a trained model could win against a weaker yardstick.
    rng = np.random.default_rng(3)
    days, t = pd.date_range("2026-06-01", periods=100, freq="D"), np.arange(100)
    fading = [np.maximum(0, np.round(30 - 0.4 * t + rng.normal(0, 2, 100))) for _ in range(3)]
    frames = [pd.DataFrame({"unique_id": f"fading{i}", "ds": days, "y": y}) for i, y in enumerate(fading)]
    train, test = split_holdout(pd.concat(frames, ignore_index=True), 14)
    baseline = statistical_holdout(train, "D", 14)
    served = forecast_panel(train, "D", 14, profile="full").forecast
    assert (baseline["yhat"] >= 0).all()
    assert holdout_scores(baseline, train, test, "D") == holdout_scores(served, train, test, "D")


def test_the_train_jobs_default_horizon_is_the_one_demand_requests_default_to():
    # Before, 14 steps against the nightly batch's and /ai/forecast/demand's 28: a trained run could take the title
    # only by retiring the 28-step batch champion (every default request then refitted); now it never may. The route
    # reads the same table for an omitted horizon (c39ce24: 13 weeks for W).
    import inspect

    from deployments.api.routes import forecast
    from training.frequency import BATCH_HORIZON

    assert train_job.parse_args([]).horizon == BATCH_HORIZON["D"] == 28
    assert inspect.signature(forecast.demand_forecast).parameters["horizon"].default is None
    assert forecast.BATCH_HORIZON is BATCH_HORIZON


def test_the_train_jobs_default_weekly_horizon_is_the_weekly_batchs_and_fits_in_the_weeks_the_history_reads():
    # Before, 28 weeks for W as for D: a series needs 8 horizons (224 weeks) of the ~157 the history reads, so
    # `train --freq W` trained nothing ({'skipped': 'no series long enough'}) and exited 0.
    import inspect

    weekly_batch = re.search(r"--freq W --horizon (\d+)", (REPO / "cluster/base/nightly-batch.yaml").read_text())
    weeks_read = inspect.signature(demand_history).parameters["lookback_days"].default // 7
    horizon = train_job.parse_args(["--freq", "W"]).horizon
    assert weekly_batch is not None and horizon == int(weekly_batch[1]) == 13
    assert train_job.MIN_HISTORY_HORIZONS * horizon <= weeks_read


def test_holdout_errors_score_each_series_on_its_own_and_the_run_scores_are_their_means():
    # The train job stores each series' MASE with its run (served as that series' error); before, only the means.
    panel = seasonal_panel(n_series=2, length=60, freq="D", season=7)
    train, test = split_holdout(panel, 7)
    means = train.groupby("unique_id")["y"].mean().reindex(test["unique_id"]).to_numpy()
    flat = test[["unique_id", "ds"]].assign(yhat=means)  # each series' training mean, every step
    errors = holdout_errors(flat, train, test, "D")
    for uid in ("seasonal0", "seasonal1"):
        y, f = test[test["unique_id"] == uid]["y"].to_numpy(), flat[flat["unique_id"] == uid]["yhat"].to_numpy()
        assert errors.loc[uid, "mase"] == mase(y, f, train[train["unique_id"] == uid]["y"].to_numpy(), 7)
    assert errors.loc["seasonal0", "mase"] != errors.loc["seasonal1", "mase"]
    assert holdout_scores(flat, train, test, "D")["mase"] == pytest.approx(errors["mase"].mean())


class TrainingMean:
    """A stand-in for a Ray Train model (no Ray): each series forecast at its mean over ``panel``."""

    def __init__(self, panel: pd.DataFrame) -> None:
        self.panel = panel

    def predict(self, horizon: int, quantiles=()) -> pd.DataFrame:
        frames = []
        for uid, series in self.panel.groupby("unique_id"):
            days = pd.date_range(series["ds"].max() + pd.Timedelta(days=1), periods=horizon, freq="D")
            level = float(series["y"].mean())
            frames.append(
                pd.DataFrame({"unique_id": uid, "ds": days, "yhat": level} | {f"q{q:g}": level for q in quantiles})
            )
        return pd.concat(frames, ignore_index=True)


async def test_a_trained_run_keeps_each_series_holdout_mase_out_of_its_record_and_its_outcome(
    monkeypatch, settings, database, make_tenant, owner_pool, tmp_path
):
    # Before, only the mean was stored: served as every series' error.
    tenant = await make_tenant()
    rng = np.random.default_rng(0)
    demand = [np.round(level + rng.normal(0, spread, 70)).clip(0) for level, spread in ((20, 2), (50, 15))]
    await post_daily_demand(
        owner_pool, tenant.id, [(p, tenant.warehouses[0], d) for p, d in zip(tenant.products[:2], demand, strict=True)]
    )
    monkeypatch.setattr(
        train_job,
        "fit_kind",
        lambda kind, train, history, freq, **_: (TrainingMean(train), TrainingMean(history), str(tmp_path), "cpu"),
    )
    (outcome,) = await train_job.train_and_register(
        str(settings.database_url), tenant.id, freq="D", horizon=7, compute=TrainCompute(), epochs=1,
        kinds=["xgboost"], as_of=datetime.now(UTC), storage_path=str(tmp_path),
    )  # fmt: skip

    async def read(tx):
        ids = [series_id(p, tenant.warehouses[0]) for p in tenant.products[:2]]
        own = [await series_holdout_mase(tx.conn, tx.tenant_id, outcome["run_id"], uid) for uid in ids]
        return own, (await list_runs(tx.conn, tx.tenant_id, "demand-D"))[0]

    own, run = await database.run(tenant.claims(), None, read)
    assert None not in own and own[0] != own[1] and outcome["mase"] == pytest.approx(np.mean(own))
    assert "series_mase" not in outcome and "series_mase" not in run.metrics


def deepar_fails_xgboost_trains(kind, train, history, freq, *, storage_path, **_):
    """The train job's fits without Ray: DeepAR fails as a Ray Train run out of its restart budget does (a
    RuntimeError: test_without_a_failure_budget_the_injected_failure_fails_the_run), xgboost forecasts each series'
    training mean (the real xgboost fit is test_xgboost_trainer_fits_the_global_model_that_beats_seasonal_naive's)."""
    if kind == "deepar":
        raise RuntimeError("Ray Train run demand-D-deepar failed after its restart budget: injected failure")
    return TrainingMean(train), TrainingMean(history), storage_path, "cpu"


async def tenant_whose_deepar_fails(monkeypatch, make_tenant, owner_pool):
    """A tenant with two series long enough to train on, and the train job's DeepAR fit failing."""
    tenant = await make_tenant()
    rng = np.random.default_rng(0)
    demand = [np.round(level + rng.normal(0, 3, 70)).clip(0) for level in (20, 50)]
    await post_daily_demand(
        owner_pool, tenant.id, [(p, tenant.warehouses[0], d) for p, d in zip(tenant.products[:2], demand, strict=True)]
    )
    monkeypatch.setattr(train_job, "fit_kind", deepar_fails_xgboost_trains)
    return tenant


async def train_deepar_and_xgboost(settings, tenant, storage: Path) -> list[dict]:
    return await train_job.train_and_register(
        str(settings.database_url), tenant.id, freq="D", horizon=7, compute=TrainCompute(workers=1), epochs=1,
        kinds=["deepar", "xgboost"], as_of=datetime.now(UTC), storage_path=str(storage),
    )  # fmt: skip


async def demand_runs(database, tenant) -> list:
    async def read(tx):
        return await list_runs(tx.conn, tx.tenant_id, "demand-D")

    return await database.run(tenant.claims(), None, read)


async def test_a_kind_that_fails_to_train_leaves_the_other_kinds_trained_and_registered(
    monkeypatch, settings, database, make_tenant, owner_pool, tmp_path
):
    # Before, DeepAR's failure ended the tenant's training: xgboost, after it in --models, was never fitted.
    tenant = await tenant_whose_deepar_fails(monkeypatch, make_tenant, owner_pool)
    deepar, xgboost = await train_deepar_and_xgboost(settings, tenant, tmp_path)
    assert deepar["model"] == "deepar" and "failed" in deepar["error"]
    assert xgboost["model"] == "xgboost" and "error" not in xgboost and np.isfinite(xgboost["mase"])
    runs = {run.model_type: run for run in await demand_runs(database, tenant)}
    assert runs["deepar"].status == "failed" and "failed" in runs["deepar"].metrics["error"]
    assert runs["xgboost"].status in ("candidate", "champion") and str(runs["xgboost"].id) == xgboost["run_id"]
    # The job reports the failed kind and exits non-zero, though the tenant's other kind trained.
    failure = train_job.job_failure([deepar, xgboost], [tenant.id])
    assert failure == f"training failed for 1 of 1 tenants: {tenant.id} deepar"


async def test_rerunning_a_night_whose_kind_failed_reuses_each_kinds_run(
    monkeypatch, settings, database, make_tenant, owner_pool, tmp_path
):
    # The registry keys a trained run by kind, night and horizon: a rerun finds the failed and the trained run again.
    tenant = await tenant_whose_deepar_fails(monkeypatch, make_tenant, owner_pool)
    first = await train_deepar_and_xgboost(settings, tenant, tmp_path)
    again = await train_deepar_and_xgboost(settings, tenant, tmp_path)
    assert [(o["run_id"], o["version"]) for o in again] == [(o["run_id"], o["version"]) for o in first]
    assert "error" in again[0] and "error" not in again[1]
    runs = await demand_runs(database, tenant)
    assert sorted((str(run.id), run.model_type) for run in runs) == sorted((o["run_id"], o["model"]) for o in first)
