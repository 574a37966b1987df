"""The train job's command line: bad arguments are refused before any work (no settings read, no Ray), and a model
kind's run broken off by anything is marked failed, not left 'running'."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from tests.training.ledger_rows import post_daily_demand
from training import train_job
from training.compute import TrainCompute
from training.registry import list_runs


@pytest.fixture
def no_work(monkeypatch):
    """Reading the settings or starting Ray means the job went on past its arguments."""

    def started(*args, **kwargs):
        raise AssertionError("the job started work with bad arguments")

    monkeypatch.setattr("common.config.get_settings", started)
    monkeypatch.setattr("common.ray_connection.ray_session", started)


def test_model_names_are_read_without_the_spaces_around_them():
    # Before, 'xgboost, lstm' named ' lstm': xgboost trained and became champion, then ' lstm' ended the job.
    assert train_job.parse_args(["--models", "xgboost, lstm"]).models == ["xgboost", "lstm"]
    assert train_job.parse_args([]).models == ["deepar", "xgboost"]


CHOICES = "choose from deepar, lstm, xgboost"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--models", "xgboost,prophet"], f"argument --models: unknown model 'prophet'; {CHOICES}"),
        (["--models", "deepar,"], f"argument --models: unknown model ''; {CHOICES}"),
        (["--models", "xgboost, xgboost"], "argument --models: 'xgboost' named twice"),
        (["--epochs", "0"], "argument --epochs: must be a whole number of at least 1, got '0'"),
        (["--epochs", "-2"], "argument --epochs: must be a whole number of at least 1, got '-2'"),
        (["--workers", "0"], "argument --workers: must be a whole number of at least 1, got '0'"),
        (["--cpus-per-worker", "nan"], "argument --cpus-per-worker: must be a number above 0, got 'nan'"),
        (["--gpus-per-worker", "-1"], "argument --gpus-per-worker: must be a number of at least 0, got '-1'"),
        (["--horizon", "0"], "argument --horizon: must be between 1 and 366 for --freq D, got 0"),
        (["--freq", "W", "--horizon", "105"], "argument --horizon: must be between 1 and 104 for --freq W, got 105"),
    ],
)
def test_a_bad_argument_is_refused_in_one_line_before_any_work(no_work, capsys, options, message):
    # Before, an unknown kind was found only when its turn to train came (after the kinds before it trained and were
    # registered), --epochs 0 went to Ray Train, and --workers 0 ended in a traceback after the settings were read.
    with pytest.raises(SystemExit) as exit_:
        train_job.main(options)
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"python -m deployments.jobs train: error: {message}"


async def tenant_with_history(make_tenant, owner_pool):
    """A tenant with two series long enough to train on (7-day horizon)."""
    tenant = await make_tenant()
    rng = np.random.default_rng(0)
    demand = [np.round(level + rng.normal(0, 3, 70)).clip(0) for level in (20, 50)]
    await post_daily_demand(
        owner_pool, tenant.id, [(p, tenant.warehouses[0], d) for p, d in zip(tenant.products[:2], demand, strict=True)]
    )
    return tenant


async def train(settings, tenant, kinds, tmp_path) -> list[dict]:
    return await train_job.train_and_register(
        str(settings.database_url), tenant.id, freq="D", horizon=7, compute=TrainCompute(workers=1), epochs=1,
        kinds=kinds, as_of=datetime.now(UTC), storage_path=str(tmp_path),
    )  # fmt: skip


async def demand_runs(database, tenant) -> list:
    async def read(tx):
        return await list_runs(tx.conn, tx.tenant_id, "demand-D")

    return await database.run(tenant.claims(), None, read)


async def test_an_unknown_kind_given_to_train_and_register_fails_its_run(
    settings, database, make_tenant, owner_pool, tmp_path
):
    # Before, fit_kind raised SystemExit, which no handler caught: the run stayed 'running' for good.
    tenant = await tenant_with_history(make_tenant, owner_pool)
    (outcome,) = await train(settings, tenant, ["prophet"], tmp_path)
    assert outcome["model"] == "prophet" and outcome["error"].startswith("ValueError: unknown model 'prophet'")
    (run,) = await demand_runs(database, tenant)
    assert run.status == "failed" and run.metrics["error"] == outcome["error"]


async def test_a_kind_interrupted_while_it_trains_is_marked_failed(
    monkeypatch, settings, database, make_tenant, owner_pool, tmp_path
):
    # Before, only an Exception marked the run failed: an interrupt (Ctrl-C, the job's task cancelled) left it running.
    tenant = await tenant_with_history(make_tenant, owner_pool)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_job, "fit_kind", interrupted)
    with pytest.raises(KeyboardInterrupt):
        await train(settings, tenant, ["xgboost"], tmp_path)
    (run,) = await demand_runs(database, tenant)
    assert run.status == "failed" and run.metrics["error"] == "KeyboardInterrupt: "
