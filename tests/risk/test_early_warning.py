"""The early-warning job end to end: Ray Train fits the model, the registry promotes it, the scan uses it."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from common.errors import InvalidInputError
from risk.early_warning import execute, run, tenant_identities, train_tenant
from risk.features import FEATURES
from risk.pipeline import fit_in_process
from risk.synthetic import generate_history
from risk.training import RUN_NAME, ray_fitter
from tests.risk.conftest import TODAY
from tests.support.refusals import refused_inserts

pytestmark = pytest.mark.slow


async def load_generated_history(world, suppliers: list) -> None:
    history = generate_history(lines=1200, suppliers=len(suppliers), start=TODAY - timedelta(days=560), days=500)
    rows = [
        (
            world.tenant.id,
            suppliers[int(r.supplier_id.split("-")[1])],
            r.shipment_mode,
            r.order_date.date(),
            r.promised_date.date(),
            r.delivered_date.date(),
            Decimal(str(r.quantity)),
            Decimal(str(r.value)),
            f"g{i}",
        )
        for i, r in enumerate(history.itertuples())
    ]
    async with world.pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO app.supplier_deliveries (tenant_id, supplier_id, shipment_mode, order_date, promised_date, "
            "delivered_date, quantity, value, import_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            rows,
        )


def ray_train_run_dirs() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob(f"chainsight-{RUN_NAME}-*"))


async def test_the_job_trains_with_ray_train_then_scores_with_the_champion_and_reruns_cleanly(
    world, owner_pool, ray_cluster
):
    suppliers = [await world.supplier(f"S{i}", "CN" if i % 2 else "DE") for i in range(6)]
    await load_generated_history(world, suppliers)
    await world.open_order(suppliers[1], issued=TODAY - timedelta(days=2), expected=TODAY + timedelta(days=4))
    # One Ray Train worker per fit (the job fits four boosters: three decision windows and the final one);
    # sharding across workers is the shared helper's, tested with two in tests/training/test_train_job.py.
    fitter = ray_fitter(workers=1, rounds=40)
    run_dirs_before = ray_train_run_dirs()
    async with owner_pool.acquire() as owner:
        (first,) = await run(world.database, owner, fitter, tenants=[world.tenant.id], today=TODAY)
        (second,) = await run(world.database, owner, fitter, tenants=[world.tenant.id], today=TODAY)
    # The model lives in the database: no Ray Train run directory is left behind.
    assert ray_train_run_dirs() == run_dirs_before
    assert first["training"]["trained"] and first["training"]["promoted"]
    # The figures on the booster's own training rows are labelled a fit (until 2026-12-07 "calibration", read as
    # accuracy); the served scorer's are held out.
    metrics = first["training"]["metrics"]
    assert "calibration" not in metrics and metrics["in_sample_fit"]["rows"] == metrics["training_rows"]
    assert metrics["holdout"]["served"]["roc_auc"] > 0.6
    assert first["scan"]["model"]["method"] == "xgboost_calibrated"
    assert first["scan"]["lines_scored"] == 1
    assert second["training"] == {"trained": False, "reason": "current model is recent"}
    assert sum(second["scan"]["alerts_raised"].values()) == 0
    async with owner_pool.acquire() as conn:
        runs = await conn.fetch(
            "SELECT version, status FROM app.forecast_runs WHERE tenant_id = $1 AND model_name = 'risk-disruption'",
            world.tenant.id,
        )
        predictions = await conn.fetchval(
            "SELECT count(*) FROM app.risk_predictions WHERE tenant_id = $1", world.tenant.id
        )
    assert [(r["version"], r["status"]) for r in runs] == [(1, "champion")]
    assert predictions == 1


def test_a_fit_on_shared_storage_gets_a_run_of_its_own(ray_cluster, tmp_path):
    # Before, risk fits always kept their checkpoint in the driver's temporary folder, which Ray Train refuses
    # when the workers are on other pods (the nightly cluster's head has no CPUs).
    rng = np.random.default_rng(7)
    features = pd.DataFrame(rng.uniform(0.05, 0.95, size=(200, len(FEATURES))), columns=FEATURES)
    labels = (rng.uniform(size=200) < features[FEATURES[0]]).astype(int).to_numpy()
    (booster,) = ray_fitter(workers=1, rounds=5, storage_path=str(tmp_path))([(features, labels)])
    # A run folder of the fit's own (a shared name would load the last fit's checkpoints).
    (run,) = [p.name for p in tmp_path.iterdir() if p.name.startswith(RUN_NAME)]
    assert len(run) == len(RUN_NAME) + 1 + 32
    assert booster.num_boosted_rounds() == 5


async def test_without_shared_storage_on_several_nodes_the_job_skips_training_and_still_scans(
    world, owner_pool, ray_cluster, monkeypatch
):
    # Before, the nightly cluster (a CPU-less head, worker pods) without CHAINSIGHT_TRAIN_STORAGE refused before any
    # tenant: no scan, no alerts, the night failed, although the manifest calls the storage optional.
    supplier = await world.supplier("S1", "DE")
    await world.open_order(supplier, issued=TODAY - timedelta(days=2), expected=TODAY + timedelta(days=4))
    monkeypatch.delenv("CHAINSIGHT_TRAIN_STORAGE", raising=False)
    monkeypatch.setattr("common.ray_connection.workers_share_driver_disk", lambda nodes, driver: False)

    # The job runs its own event loop (asyncio.run), as under `python -m deployments.jobs early-warning`.
    (outcome,) = await asyncio.to_thread(execute, ["--tenant", str(world.tenant.id), "--today", TODAY.isoformat()])

    assert outcome["training"]["trained"] is False and outcome["training"]["skipped"] is True
    assert "--storage-path" in outcome["training"]["reason"]
    assert "error" not in outcome and outcome["scan"]["lines_scored"] == 1


async def test_a_tenant_whose_scan_fails_is_reported_and_the_others_are_scored(world, other_world, owner_pool):
    for each in (world, other_world):
        supplier = await each.supplier("S1", "DE")
        await each.open_order(supplier, issued=TODAY - timedelta(days=2), expected=TODAY + timedelta(days=4))
    broken = world.tenant.id
    refusal = refused_inserts(owner_pool, "risk_predictions", broken, "prediction store refused")
    async with refusal, owner_pool.acquire() as owner:
        outcomes = await run(world.database, owner, None, tenants=[broken, other_world.tenant.id], today=TODAY)
    by_tenant = {o["tenant_id"]: o for o in outcomes}
    assert "prediction store refused" in by_tenant[str(broken)]["error"]
    assert "scan" not in by_tenant[str(broken)]
    assert by_tenant[str(other_world.tenant.id)]["scan"]["lines_scored"] == 1
    async with owner_pool.acquire() as owner:
        (rerun,) = await run(world.database, owner, None, tenants=[broken], today=TODAY)
    assert "error" not in rerun and rerun["scan"]["lines_scored"] == 1


async def test_a_scan_of_a_tenant_that_does_not_exist_is_refused_naming_it(world, owner_pool):
    missing = uuid.uuid4()
    async with owner_pool.acquire() as owner:
        with pytest.raises(InvalidInputError, match=f"no tenant with an admin: {missing}"):
            await run(world.database, owner, None, tenants=[world.tenant.id, missing], today=TODAY)


async def test_a_scan_as_of_a_day_past_2199_is_refused_before_any_tenant_is_touched(world, owner_pool):
    async with owner_pool.acquire() as owner:
        with pytest.raises(InvalidInputError, match="today 9999-12-31 is not between 1900-01-01 and 2199-12-31"):
            await run(world.database, owner, None, tenants=[world.tenant.id], today=date(9999, 12, 31))


async def test_a_line_due_today_at_its_dock_is_not_trained_as_late_while_utc_is_a_day_ahead(world, owner_pool):
    await owner_pool.execute(
        "UPDATE app.warehouses SET timezone = 'America/Los_Angeles' WHERE id = $1", world.tenant.warehouses[0]
    )
    on_time, late = await world.supplier("ONTIME"), await world.supplier("LATE")
    await world.deliveries(on_time, 80, delay_days=0)
    await world.deliveries(late, 40, delay_days=3)
    # Due today in Los Angeles and not received yet: still inside its promise there.
    await world.open_order(late, issued=TODAY - timedelta(days=10), expected=TODAY)
    run_at = datetime.combine(TODAY + timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=2, minutes=30)
    fitted: list = []

    def recording_fitter(sets):
        fitted.extend(sets)
        return fit_in_process(sets)

    async with owner_pool.acquire() as owner:
        (who,) = await tenant_identities(owner, [world.tenant.id])
    outcome = await train_tenant(world.database, who, recording_fitter, run_at.date(), at=run_at)
    assert outcome["trained"]
    _, labels = fitted[-1]  # the final booster's: every settled line
    assert (len(labels), int(labels.sum())) == (120, 40)
