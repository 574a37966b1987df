"""Faults under load: the API recovers and no acknowledged write is lost or applied twice."""

from __future__ import annotations

import time

import pytest

from tests.support.faults import kill_one_replica, restart_postgres
from tests.support.loadgen import Target, run_load, time_to_recover, verify_writes

pytestmark = [pytest.mark.fault, pytest.mark.slow]

REPLACED_WITHIN_S = 180


@pytest.fixture
async def target(make_tenant) -> Target:
    from decimal import Decimal

    tenant = await make_tenant(stock={0: Decimal(100), 1: Decimal(100)})
    return Target(
        headers=tenant.headers(),
        product_ids=[str(p) for p in tenant.products],
        warehouse_ids=[str(tenant.warehouses[0])],
    )


async def test_mixed_load_smoke_has_no_errors_and_loses_no_write(http, target, database_url):
    report = await run_load(http, target, rate=40, duration_s=5)
    assert report.errors() == 0, report.summary()
    assert len(report.acknowledged_writes) > 10
    assert await verify_writes(database_url, report) == (0, 0)


async def test_killed_replica_is_replaced_and_no_acknowledged_write_is_lost(http, target, database_url):
    killed_at: list[float] = []

    async def kill() -> None:
        killed_at.append(time.perf_counter())
        await kill_one_replica("InventoryAPI")

    report = await run_load(http, target, rate=20, duration_s=6, faults=[(2.0, kill)])
    recovery_s = await time_to_recover(http, target, killed_at[0], timeout_s=240)
    # Replaced by Serve on its own, not by hand: a new replica process starts and imports the application, which
    # on the 2-core CI machine with the other test process beside it took 56 s and 102 s in two runs of one day.
    assert recovery_s < REPLACED_WITHIN_S
    missing, duplicated = await verify_writes(database_url, report)
    assert (missing, duplicated) == (0, 0)
    after = await run_load(http, target, rate=20, duration_s=2, seed=11)
    assert after.errors() == 0, after.summary()


async def test_database_restart_under_load_loses_no_acknowledged_write(
    http, target, database_url, embedded_postgres_dir
):
    if embedded_postgres_dir is None:
        pytest.skip("restarting the database needs the embedded server (CHAINSIGHT_TEST_DATABASE_URL is set)")

    report = await run_load(
        http, target, rate=30, duration_s=6, faults=[(2.0, lambda: restart_postgres(embedded_postgres_dir))]
    )
    missing, duplicated = await verify_writes(database_url, report)
    assert (missing, duplicated) == (0, 0)
    # Reads that hit the restart may fail with 503; writes were retried with their keys and succeeded.
    assert all(s.status == 201 for s in report.by(kind="write")), report.summary()
    after = await run_load(http, target, rate=30, duration_s=2, seed=13)
    assert after.errors() == 0, after.summary()
