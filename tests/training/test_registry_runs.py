"""Runs whose job stopped before finishing them (a killed batch or train job) do not stay "running" for good."""

from __future__ import annotations

from datetime import UTC, datetime

from common.database import TenantTransaction
from training.registry import finish_run, list_runs, start_run

END = datetime(2025, 3, 1, tzinfo=UTC)
INTERRUPTED = "interrupted: the job stopped before finishing it"


async def in_tenant(database, tenant, operation):
    async def op(tx: TenantTransaction):
        return await operation(tx)

    return await database.run(tenant.claims(), None, op)


async def started(tx, key, model_name="demand-D", hours_ago=0):
    """A run started ``hours_ago`` and never finished (its job's process ended: Ray's SIGTERM, an OOM kill)."""
    run = await start_run(
        tx.conn, tx.tenant_id, model_name=model_name, model_type="auto", run_key=key, freq="D", horizon=28,
        training_end=END,
    )  # fmt: skip
    await tx.conn.execute(
        "UPDATE app.forecast_runs SET started_at = now() - make_interval(hours => $2) WHERE id = $1", run.id, hours_ago
    )
    return run


async def statuses(tx, model_name="demand-D"):
    return {r.run_key: (r.status, r.metrics.get("error")) for r in await list_runs(tx.conn, tx.tenant_id, model_name)}


async def test_starting_a_run_fails_the_models_runs_left_running_by_a_job_that_stopped_long_ago(database, make_tenant):
    # Before, the batch of a night killed mid-run (its except clause never ran) stayed "running" in /runs for good.
    async def op(tx):
        await started(tx, "batch/2025-02-28/D/h28", hours_ago=26)
        await started(tx, "batch/2025-03-01/D/h28")
        return await statuses(tx)

    runs = await in_tenant(database, await make_tenant(), op)
    assert runs == {"batch/2025-02-28/D/h28": ("failed", INTERRUPTED), "batch/2025-03-01/D/h28": ("running", None)}


async def test_a_run_started_recently_by_another_job_or_of_another_model_stays_running(database, make_tenant):
    # The train job and the nightly batch may run side by side: neither fails the other's live run.
    async def op(tx):
        await started(tx, "train/xgboost/2025-03-01/h28", hours_ago=3)
        await started(tx, "batch/2025-02-01/W/h13", model_name="demand-W", hours_ago=26)
        await started(tx, "batch/2025-03-01/D/h28")
        return await statuses(tx), await statuses(tx, "demand-W")

    daily, weekly = await in_tenant(database, await make_tenant(), op)
    assert daily["train/xgboost/2025-03-01/h28"] == ("running", None)
    assert weekly == {"batch/2025-02-01/W/h13": ("running", None)}


async def test_a_run_started_again_under_its_key_counts_from_its_restart(database, make_tenant):
    # A run created two days ago and rerun now (same run key) is live, however old its row.
    async def op(tx):
        old = await started(tx, "batch/2025-03-01/D/h28", hours_ago=48)
        await finish_run(tx.conn, tx.tenant_id, old.id, metrics={"mase": 0.9}, series_count=4)
        await start_run(
            tx.conn, tx.tenant_id, model_name="demand-D", model_type="auto", run_key=old.run_key, freq="D",
            horizon=28, training_end=END,
        )  # fmt: skip
        await started(tx, "train/xgboost/2025-03-01/h28")
        return await statuses(tx)

    runs = await in_tenant(database, await make_tenant(), op)
    assert runs["batch/2025-03-01/D/h28"] == ("running", None)


async def test_a_run_marked_interrupted_that_finishes_after_all_is_a_candidate(database, make_tenant):
    # Should a job outlive the bound, its finish still records the run: marking it was not final.
    async def op(tx):
        slow = await started(tx, "train/deepar/2025-03-01/h28", hours_ago=13)
        await started(tx, "batch/2025-03-01/D/h28")
        await finish_run(tx.conn, tx.tenant_id, slow.id, metrics={"mase": 0.7}, series_count=4)
        return await statuses(tx)

    runs = await in_tenant(database, await make_tenant(), op)
    assert runs["train/deepar/2025-03-01/h28"] == ("candidate", None)
