"""The train job keeps each series' forecasts and actuals on its validation window (before the test window, fitted
without it) for an xgboost run's intervals, out of the run's record."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from tests.training.ledger_rows import post_daily_demand
from tests.training.test_train_job import TrainingMean
from training import train_job
from training.compute import TrainCompute
from training.history import series_id
from training.registry import list_runs

DAYS, HORIZON = 70, 7


async def test_an_xgboost_run_stores_each_series_validation_window_not_its_test_window(
    monkeypatch, settings, database, make_tenant, owner_pool, tmp_path
):
    # Before, no errors were kept: serving fitted the statistical selection per request to borrow its interval.
    tenant = await make_tenant()
    demand = np.arange(DAYS, dtype=float)  # each window's errors against the mean before it tell the windows apart
    await post_daily_demand(owner_pool, tenant.id, [(tenant.products[0], tenant.warehouses[0], demand)])
    monkeypatch.setattr(
        train_job,
        "fit_kind",
        lambda kind, train, history, freq, **_: (TrainingMean(train), TrainingMean(history), str(tmp_path), "cpu"),
    )
    (outcome,) = await train_job.train_and_register(
        str(settings.database_url), tenant.id, freq="D", horizon=HORIZON, compute=TrainCompute(), epochs=1,
        kinds=["xgboost"], as_of=datetime.now(UTC), storage_path=str(tmp_path),
    )  # fmt: skip

    async def read(tx):
        stored = await tx.conn.fetchval(
            "SELECT metrics -> 'series_validation' -> $2 FROM app.forecast_runs WHERE id = $1",
            outcome["run_id"], series_id(tenant.products[0], tenant.warehouses[0]),
        )  # fmt: skip
        return stored, (await list_runs(tx.conn, tx.tenant_id, "demand-D"))[0]

    stored, run = await database.run(tenant.claims(), None, read)
    history = demand[-DAYS:]  # the ledger's last DAYS days hold the series
    earlier, window = history[: -2 * HORIZON], history[-2 * HORIZON : -HORIZON]
    assert stored == {"yhat": pytest.approx([earlier.mean()] * HORIZON), "y": pytest.approx(list(window))}
    assert "series_validation" not in run.metrics and "series_validation" not in outcome
