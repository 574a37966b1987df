"""A failure that repeats is notified once, whoever closes its runs, even when its text carries per-request noise
(Microsoft's trace and correlation ids and timestamp), and a different failure is still news."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from cryptography.fernet import Fernet

from common.errors import DomainError
from integrations.crypto import CredentialCipher
from integrations.schedule import fail_unstarted_run
from integrations.sync import queue_run, run_sync
from tests.integrations.conftest import bare_tenant, bc_tenant, odoo_connector
from tests.support.fakes.base import Response
from tests.support.fakes.odoo import FakeOdoo, populate

ABANDONED = "abandoned: the sync job stopped reporting"


async def _titles(owner_pool: asyncpg.Pool, tenant_id: uuid.UUID) -> list[str]:
    rows = await owner_pool.fetch(
        """SELECT title FROM app.notifications WHERE tenant_id = $1 AND kind = 'integration_sync'
           ORDER BY created_at, id""",
        tenant_id,
    )
    return [r["title"] for r in rows]


async def test_refused_bc_credentials_are_notified_once_and_the_trace_lines_go_to_the_log(
    sync_deps, owner_pool, make_tenant, bc, caplog
):
    # Before, the run's error ended with Microsoft's Trace ID / Correlation ID / Timestamp, new on every request,
    # so no run ever failed "as the one before it" and each wrote a notification: ~96 a day at 15 minutes.
    tenant, connector = await bc_tenant(sync_deps, owner_pool, make_tenant, bc, secret="wrong")
    with caplog.at_level(logging.WARNING, logger="integrations.oauth"):
        runs = [await run_sync(sync_deps, tenant.id, connector) for _ in range(3)]
    assert [r["status"] for r in runs] == ["failed"] * 3
    assert "AADSTS7000215: Invalid client secret provided." in runs[0]["error"]
    assert all("Trace ID" not in r["error"] and "Timestamp" not in r["error"] for r in runs), runs
    assert "Correlation ID" in caplog.text  # for whoever asks Microsoft about the refusal
    assert await _titles(owner_pool, tenant.id) == [f"ERP sync of erp failed: {runs[0]['error']}"]


async def test_ids_and_timestamps_within_one_line_of_an_error_do_not_make_it_a_new_failure(
    sync_deps, owner_pool, make_tenant, bc
):
    inner = bc.handle

    def handle(request: Any) -> Response:
        if not request.path.endswith("/oauth2/v2.0/token"):
            return inner(request)
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") + "Z"
        description = (
            f"AADSTS7000215: Invalid client secret provided. Trace ID: {uuid.uuid4()} Correlation ID: "
            f"{uuid.uuid4()} Timestamp: {now} request {uuid.uuid4().int % 10**12:012d} span {uuid.uuid4().hex}"
        )
        return Response(401, {"error": "invalid_client", "error_description": description})

    bc.handle = handle
    tenant, connector = await bc_tenant(sync_deps, owner_pool, make_tenant, bc, secret="wrong")
    runs = [await run_sync(sync_deps, tenant.id, connector) for _ in range(3)]
    assert len({r["error"] for r in runs}) == 3  # the noise is kept in the run; only the comparison ignores it
    assert await _titles(owner_pool, tenant.id) == [f"ERP sync of erp failed: {runs[0]['error']}"[:300]]


async def test_scheduled_runs_that_cannot_start_after_a_key_rotation_are_notified_once(
    sync_deps, owner_pool, make_tenant
):
    # Before, app.close_integration_run wrote a notification for every run it failed: a connector whose
    # credentials no longer decrypt told the tenant so at every scheduled interval.
    with FakeOdoo() as odoo:
        populate(odoo)
        tenant = await bare_tenant(owner_pool, make_tenant)
        connector = await odoo_connector(sync_deps, tenant, odoo.url)
        rotated = dataclasses.replace(sync_deps, cipher=CredentialCipher(Fernet.generate_key().decode()))
        errors = []
        for _ in range(3):  # what deployments.integrations_job.run_sync_job does for each scheduled run
            run = await sync_deps.database.run(tenant.claims(), None, lambda tx: queue_run(tx, connector, "schedule"))
            with pytest.raises(DomainError) as exc:
                await run_sync(rotated, tenant.id, connector, run_id=run["id"], trigger="schedule")
            errors.append(f"the sync job could not start: {exc.value}")
            assert await fail_unstarted_run(rotated, tenant.id, connector, run["id"], errors[-1])
        assert await _titles(owner_pool, tenant.id) == [f"ERP sync of erp failed: {errors[0]}"]
        # A different failure closed by the service is news.
        run = await sync_deps.database.run(tenant.claims(), None, lambda tx: queue_run(tx, connector, "schedule"))
        assert await fail_unstarted_run(rotated, tenant.id, connector, run["id"], "the sync job could not start: x")
    assert await _titles(owner_pool, tenant.id) == [
        f"ERP sync of erp failed: {errors[0]}",
        "ERP sync of erp failed: the sync job could not start: x",
    ]


async def test_the_service_and_the_job_compare_a_failure_by_the_same_rule(sync_deps, owner_pool, make_tenant):
    tenant = await bare_tenant(owner_pool, make_tenant)
    connector = await odoo_connector(sync_deps, tenant, "http://127.0.0.1:1")
    failed = await run_sync(sync_deps, tenant.id, connector)  # nothing listens there: the job closes it failed
    assert failed["status"] == "failed"
    run = await sync_deps.database.run(tenant.claims(), None, lambda tx: queue_run(tx, connector, "schedule"))
    assert await fail_unstarted_run(sync_deps, tenant.id, connector, run["id"], failed["error"])
    assert await _titles(owner_pool, tenant.id) == [f"ERP sync of erp failed: {failed['error']}"]


async def _abandon(sync_deps: Any, owner_pool: asyncpg.Pool, tenant: Any, connector: uuid.UUID) -> int:
    """Queue a run, leave it 'running' as a job that died 30 minutes ago would, and let the service fail it."""
    run = await sync_deps.database.run(tenant.claims(), None, lambda tx: queue_run(tx, connector, "api"))
    await owner_pool.execute(
        """UPDATE app.integration_sync_runs SET status = 'running', started_at = now() - interval '40 minutes',
               heartbeat_at = now() - interval '30 minutes'
           WHERE id = $1""",
        run["id"],
    )
    failed: int = await owner_pool.fetchval(
        "SELECT app.fail_abandoned_integration_runs($1, $2, false)", tenant.id, connector
    )
    return failed


async def test_a_job_that_dies_the_same_way_every_run_is_notified_once(sync_deps, owner_pool, make_tenant):
    tenant = await bare_tenant(owner_pool, make_tenant)
    connector = await odoo_connector(sync_deps, tenant, "http://127.0.0.1:1")
    assert [await _abandon(sync_deps, owner_pool, tenant, connector) for _ in range(3)] == [1, 1, 1]
    assert await _titles(owner_pool, tenant.id) == [f"ERP sync of erp failed: {ABANDONED}"]


async def test_a_repeated_failure_that_opened_dead_letters_is_notified(sync_deps, owner_pool, make_tenant):
    tenant = await bare_tenant(owner_pool, make_tenant)
    connector = await odoo_connector(sync_deps, tenant, "http://127.0.0.1:1")
    await _abandon(sync_deps, owner_pool, tenant, connector)
    await owner_pool.execute(
        """INSERT INTO app.integration_dead_letters (tenant_id, connector_id, entity, external_id, error)
           VALUES ($1, $2, 'products', '7', 'sku missing')""",
        tenant.id,
        connector,
    )
    await _abandon(sync_deps, owner_pool, tenant, connector)
    assert await _titles(owner_pool, tenant.id) == [
        f"ERP sync of erp failed: {ABANDONED}",
        f"ERP sync of erp failed (some records were dead-lettered): {ABANDONED}",
    ]


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        (
            "AADSTS7000215: bad secret. Trace ID: 0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0 Timestamp: 2026-12-07 22:11:43Z",
            "AADSTS7000215: bad secret. Trace ID: 9A8B7C6D-5E4F-3A2B-1C0D-E9F8A7B6C5D4 Timestamp: 2026-12-08 01:02:03Z",
            True,
        ),
        ("HTTP 503 from gateway, request 20261207221143123", "HTTP 503 from gateway, request 20261207221500987", True),
        ("order at 2026-12-07T22:11:43.123+01:00  failed", "order at 2026-12-08T08:00:00Z failed", True),
        ("trace 4bf92f3577b34da6a3ce929d0e0e4736", "trace 00f067aa0ba902b7a3ce929d0e0e4736", True),
        ("orders P00002 are hidden", "orders P00001, P00002 are hidden", False),
        ("HTTP 503 from gateway", "HTTP 504 from gateway", False),
        # Until 0166 every run of six or more digits was masked, so two orders' failures read as one repeat.
        (
            "Odoo order(s) P123456 (id 123456) exist but are hidden",
            "Odoo order(s) P123999 (id 123999) exist but are hidden",
            False,
        ),
        (
            "SAP answered HTTP 404: Purchase order 4500000017 does not exist",
            "SAP answered HTTP 404: Purchase order 4500000023 does not exist",
            False,
        ),
        (
            "HTTP 504, x-ms-client-request-id: 20261207221143 activityId=88412345",
            "HTTP 504, x-ms-client-request-id: 20261208010203 activityId=99123456",
            True,
        ),
        (
            "HTTP 502 correlation_id#771234567 Request No. 553311",
            "HTTP 502 correlation_id#771299999 Request No. 553322",
            True,
        ),
        # A review of 0166's first version: a bare label masked any value with a digit, and NetSuite's error id was
        # no label.
        ("Odoo error: trace 12 of order P123456", "Odoo error: trace 13 of order P123456", False),
        ("Activity 12345678 is not yours", "Activity 12345679 is not yours", False),
        (
            "UNEXPECTED_ERROR: An unexpected error occurred. Error Id: lh8u1vaq1b6tqoa0ptdwh",
            "UNEXPECTED_ERROR: An unexpected error occurred. Error Id: k2j3h4g5f6d7s8a9p0o1q",
            True,
        ),
    ],
)
async def test_the_error_key_masks_ids_timestamps_and_labelled_request_numbers_only(owner_pool, first, second, same):
    keys = await owner_pool.fetchrow(
        "SELECT app.integration_error_key($1) AS first, app.integration_error_key($2) AS second", first, second
    )
    assert (keys["first"] == keys["second"]) is same, dict(keys)
