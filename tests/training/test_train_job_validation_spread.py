"""The train job keeps each series' forecasts and actuals on its validation window (before the test window, fitted
without it) for an xgboost run's intervals, out of the run's record; the booster that forecasts it is fitted in the
same Ray Train run as the champion's."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from tests.training.ledger_rows import post_daily_demand
from tests.training.test_train_job import TrainingMean
from training import train_job
from training.compute import TrainCompute
from training.features import FeatureSpec, design_matrix
from training.history import series_id
from training.ray_fits import xgboost_params
from training.registry import list_runs
from training.serving import XGBOOST_CHECKPOINT
from training.validation_spread import split_holdout, validation_set

DAYS, HORIZON = 70, 7


async def test_an_xgboost_run_stores_each_series_validation_window_not_its_test_window(
    monkeypatch, settings, database, make_tenant, owner_pool, tmp_path
):
    # Before, no errors were kept: serving fitted the statistical selection per request to borrow its interval.
    tenant = await make_tenant()
    demand = np.arange(DAYS, dtype=float)  # each window's errors against the mean before it tell the windows apart
    await post_daily_demand(owner_pool, tenant.id, [(tenant.products[0], tenant.warehouses[0], demand)])

    def fit_kind(kind, train, history, freq, *, earlier=None, **_):
        validation = None if earlier is None else TrainingMean(earlier)
        return TrainingMean(train), TrainingMean(history), str(tmp_path), "cpu", validation

    monkeypatch.setattr(train_job, "fit_kind", fit_kind)
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


@pytest.mark.slow
def test_the_validation_booster_is_fitted_on_the_steps_before_the_window_in_the_champions_ray_train_run(
    ray_cluster, tmp_path
):
    # Before, it was a second Ray Train run: its workers, imports and collective started again (tens of seconds here).
    days = pd.date_range("2025-01-01", periods=DAYS)
    history = pd.concat(
        pd.DataFrame({"unique_id": uid, "ds": days, "y": level + 3 * (days.dayofweek == 4) + 0.1 * np.arange(DAYS)})
        for uid, level in (("a", 10.0), ("b", 40.0))
    )
    train, _ = split_holdout(history, HORIZON)
    earlier = validation_set("xgboost", train, HORIZON)
    assert earlier is not None
    fit = train_job.fit_kind(
        "xgboost", train, history, "D", horizon=HORIZON, epochs=1, compute=TrainCompute(workers=1),
        storage_path=str(tmp_path), earlier=earlier,
    )  # fmt: skip
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 1  # one run
    # The booster serving loads from the champion's checkpoint is the one fitted on the training data ...
    served = xgb.Booster(model_file=str(Path(fit.artifact, XGBOOST_CHECKPOINT)))
    spec = FeatureSpec.for_frequency("D")
    probe = xgb.DMatrix(design_matrix(train, spec)[0], feature_names=spec.names)
    assert np.array_equal(served.predict(probe), fit.model._members[0].point.predict(probe))
    # ... and the validation booster is the one xgboost fits on the history before the window, and no more.
    x, y = design_matrix(earlier, spec)
    params = xgboost_params(fit.validation.params, TrainCompute(workers=1))
    alone = xgb.train(params, xgb.DMatrix(x, label=y, feature_names=spec.names), fit.validation.n_estimators)
    assert np.allclose(fit.validation._members[0].point.predict(probe), alone.predict(probe), atol=1e-4)
    assert not np.allclose(alone.predict(probe), served.predict(probe), atol=1e-2)
    window = fit.validation.predict(HORIZON)["ds"]
    assert (window.min(), window.max()) == (earlier["ds"].max() + pd.Timedelta(days=1), train["ds"].max())
