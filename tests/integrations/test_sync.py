"""The sync engine's guarantees across connectors: tenant isolation, credentials at rest, one run at a time."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal

import asyncpg
import pytest

from common.database import TenantTransaction
from common.errors import ConflictError, NotFoundError
from integrations import store
from integrations.apply import apply_page
from integrations.external_ids import SyncScope
from integrations.mapping import FieldMapping
from integrations.records import Entity, Page, SourceRecord
from integrations.schedule import fail_unstarted_run
from integrations.schemas import ConnectorUpdate
from integrations.sync import ACTOR_CANNOT_WRITE, acting_claims, fail_queued_run, queue_run, run_sync
from tests.integrations.conftest import bare_tenant, odoo_connector, snapshot, tap
from tests.support.fakes.odoo import FakeOdoo, populate


async def test_a_sync_for_one_tenant_never_writes_into_another(sync_deps, owner_pool, make_tenant):
    mine = await bare_tenant(owner_pool, make_tenant)
    theirs = await bare_tenant(owner_pool, make_tenant)
    with FakeOdoo() as fake:
        populate(fake)
        connector = await odoo_connector(sync_deps, mine, fake.url)
        await run_sync(sync_deps, mine.id, connector)
    assert (await snapshot(owner_pool, mine.id))["products"]
    untouched = await snapshot(owner_pool, theirs.id)
    assert untouched["products"] == untouched["orders"] == untouched["levels"] == [] and untouched["maps"] == 0

    # Even a scope forged to name the other tenant cannot write there: row-level security refuses the row.
    forged = SyncScope(theirs.id, connector, "erp", uuid.uuid4(), FieldMapping(), frozenset({"each"}))
    page = Page([SourceRecord("x", {"sku": "FORGED", "name": "Forged", "uom": "each"})])

    async def op(tx: TenantTransaction):
        return await apply_page(tx.conn, forged, Entity.PRODUCTS, page)

    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await sync_deps.database.run(mine.claims(mine.admin), None, op)
    assert (await snapshot(owner_pool, theirs.id))["products"] == []


async def test_a_job_cannot_act_for_a_tenant_with_another_tenants_connector(sync_deps, owner_pool, make_tenant):
    mine = await make_tenant()
    theirs = await make_tenant()
    with FakeOdoo() as fake:
        connector = await odoo_connector(sync_deps, mine, fake.url)
    with pytest.raises(NotFoundError):
        await acting_claims(sync_deps.database, theirs.id, connector)
    with pytest.raises(NotFoundError):
        await run_sync(sync_deps, theirs.id, connector)


async def test_credentials_are_encrypted_at_rest_and_never_listed(sync_deps, owner_pool, make_tenant):
    tenant = await make_tenant()
    connector = await odoo_connector(sync_deps, tenant, FakeOdoo().url, api_key="very-secret-api-key")
    async with owner_pool.acquire() as conn:
        stored = bytes(
            await conn.fetchval("SELECT credentials FROM app.integration_connectors WHERE id = $1", connector)
        )
    assert b"very-secret-api-key" not in stored
    assert sync_deps.cipher.decrypt(stored)["api_key"] == "very-secret-api-key"

    async def op(tx: TenantTransaction):
        return await store.list_connectors(tx.conn), await store.connector_status(tx.conn, connector)

    listed, status = await sync_deps.database.run(tenant.claims(tenant.viewer), None, op)
    assert "credentials" not in listed[0] and "credentials" not in status
    assert "very-secret-api-key" not in repr(listed) + repr(status)


async def test_only_admins_configure_connectors(sync_deps, make_tenant):
    tenant = await make_tenant()
    planner = type(tenant)(**{**tenant.__dict__, "admin": tenant.planner})
    with pytest.raises(Exception, match="admin role"):
        await odoo_connector(sync_deps, planner, FakeOdoo().url)


async def test_a_second_sync_is_refused_while_one_is_queued(sync_deps, make_tenant):
    tenant = await make_tenant()
    connector = await odoo_connector(sync_deps, tenant, FakeOdoo().url)

    async def queue(tx: TenantTransaction):
        return await queue_run(tx, connector, "api")

    await sync_deps.database.run(tenant.claims(), None, queue)
    with pytest.raises(ConflictError, match="already queued or running"):
        await sync_deps.database.run(tenant.claims(), None, queue)


async def test_a_connector_whose_acting_member_can_no_longer_write_is_not_queued_or_scheduled(
    sync_deps, owner_pool, make_tenant
):
    # Before, the run was queued (202) and waited, never started, until it counted as abandoned; and the
    # status promised a next scheduled sync the scheduler would never claim.
    tenant = await make_tenant()
    connector = await odoo_connector(sync_deps, tenant, FakeOdoo().url, sync_interval_minutes=5)
    async with owner_pool.acquire() as conn:
        await conn.execute(
            "UPDATE app.members SET role = 'viewer' WHERE tenant_id = $1 AND user_id = $2", tenant.id, tenant.admin
        )
    with pytest.raises(ConflictError, match="no longer an admin or planner"):
        await sync_deps.database.run(tenant.claims(), None, lambda tx: queue_run(tx, connector, "api"))
    status = await sync_deps.database.run(tenant.claims(), None, lambda tx: store.connector_status(tx.conn, connector))
    assert status["next_sync_at"] is None


async def _lose_write(owner_pool: asyncpg.Pool, tenant, how: str) -> None:
    async with owner_pool.acquire() as conn:
        # Someone else takes over as admin first, as a tenant would before demoting its last one.
        await conn.execute(
            "UPDATE app.members SET role = 'admin' WHERE tenant_id = $1 AND user_id = $2", tenant.id, tenant.planner
        )
        if how == "demoted":
            await conn.execute(
                "UPDATE app.members SET role = 'viewer' WHERE tenant_id = $1 AND user_id = $2", tenant.id, tenant.admin
            )
        else:
            await conn.execute("DELETE FROM app.members WHERE tenant_id = $1 AND user_id = $2", tenant.id, tenant.admin)


async def _runs(owner_pool: asyncpg.Pool, connector: uuid.UUID) -> list[tuple[str, str | None]]:
    async with owner_pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT status, error FROM app.integration_sync_runs WHERE connector_id = $1 ORDER BY created_at",
            connector,
        )
    return [(r["status"], r["error"]) for r in rows]


@pytest.mark.parametrize("how", ["demoted", "removed"])
async def test_a_queued_run_whose_acting_member_lost_write_fails_naming_why_and_blocks_no_next_sync(
    sync_deps, owner_pool, make_tenant, how
):
    # Before, the job could not close it either (it acted as that member): the run stayed queued, and the next
    # sync was refused (409 sync_in_progress) until the run was failed 15 minutes later as "abandoned".
    tenant = await make_tenant()
    connector = await odoo_connector(sync_deps, tenant, FakeOdoo().url)
    run = await sync_deps.database.run(tenant.claims(), None, lambda tx: queue_run(tx, connector, "api"))
    await _lose_write(owner_pool, tenant, how)
    with pytest.raises(ConflictError, match="no longer an admin or planner") as refused:
        await run_sync(sync_deps, tenant.id, connector, run_id=run["id"], trigger="api")
    # What the job does next (deployments.integrations_job._fail_unstarted).
    error = f"the sync job could not start: {refused.value}"
    assert await fail_unstarted_run(sync_deps, tenant.id, connector, run["id"], error) is True
    assert await _runs(owner_pool, connector) == [("failed", error)]

    await sync_deps.database.run(
        tenant.claims(tenant.planner),
        None,
        lambda tx: store.update_connector(tx, connector, ConnectorUpdate(enabled=True), sync_deps.cipher),
    )
    queued = await sync_deps.database.run(
        tenant.claims(tenant.planner), None, lambda tx: queue_run(tx, connector, "api")
    )
    assert queued["status"] == "queued"


async def test_a_queued_run_the_api_could_not_submit_fails_even_once_its_acting_member_lost_write(
    sync_deps, owner_pool, make_tenant
):
    # Before, the API failed it as that member: row-level security kept it queued, blocking the next sync.
    tenant = await make_tenant()
    connector = await odoo_connector(sync_deps, tenant, FakeOdoo().url)
    run = await sync_deps.database.run(tenant.claims(), None, lambda tx: queue_run(tx, connector, "api"))
    await _lose_write(owner_pool, tenant, "demoted")
    await fail_queued_run(sync_deps, tenant.id, connector, run["id"], "could not start the sync job: no cluster")
    assert await _runs(owner_pool, connector) == [("failed", "could not start the sync job: no cluster")]


async def _run_whose_job_died(sync_deps, owner_pool: asyncpg.Pool, tenant, connector: uuid.UUID) -> dict:
    """A run of the connector left 'running' by a job whose last heartbeat was 30 minutes ago."""
    run = await sync_deps.database.run(tenant.claims(), None, lambda tx: queue_run(tx, connector, "api"))
    async with owner_pool.acquire() as conn:
        await conn.execute(
            """UPDATE app.integration_sync_runs SET status = 'running', created_at = now() - interval '40 minutes',
                   started_at = now() - interval '40 minutes', heartbeat_at = now() - interval '30 minutes'
               WHERE id = $1""",
            run["id"],
        )
    return run


async def test_a_run_whose_job_stopped_reporting_is_failed_and_announced_when_the_next_sync_is_queued(
    sync_deps, owner_pool, make_tenant
):
    # Before, queueing the next sync failed it as "abandoned" with a plain UPDATE: no notification, no event.
    tenant = await make_tenant()
    connector = await odoo_connector(sync_deps, tenant, FakeOdoo().url)
    dead = await _run_whose_job_died(sync_deps, owner_pool, tenant, connector)
    async with tap(owner_pool, tenant.id) as seen:
        await sync_deps.database.run(tenant.claims(), None, lambda tx: queue_run(tx, connector, "api"))
    abandoned = "abandoned: the sync job stopped reporting"
    assert await _runs(owner_pool, connector) == [("failed", abandoned), ("queued", None)]
    async with owner_pool.acquire() as conn:
        titles = await conn.fetch(
            "SELECT title FROM app.notifications WHERE tenant_id = $1 AND kind = 'integration_sync'", tenant.id
        )
    assert [t["title"] for t in titles] == [f"ERP sync of erp failed: {abandoned}"]
    assert [(e["type"], e["data"]["run_id"]) for e in seen] == [("integration.sync_failed", str(dead["id"]))]


async def test_members_fail_abandoned_runs_only_as_writers_and_only_in_their_own_tenant(
    sync_deps, owner_pool, make_tenant
):
    tenant, other = await make_tenant(), await make_tenant()
    connector = await odoo_connector(sync_deps, tenant, FakeOdoo().url)
    await _run_whose_job_died(sync_deps, owner_pool, tenant, connector)

    async def fail_abandoned(tx: TenantTransaction):
        return await tx.conn.fetchval("SELECT app.fail_abandoned_integration_runs($1)", connector)

    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await sync_deps.database.run(tenant.claims(tenant.viewer), None, fail_abandoned)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):  # the service's form, any tenant
        await sync_deps.database.run(
            tenant.claims(),
            None,
            lambda tx: tx.conn.fetchval("SELECT app.fail_abandoned_integration_runs(NULL, NULL, false)"),
        )
    assert await sync_deps.database.run(other.claims(other.admin), None, fail_abandoned) == 0
    assert [status for status, _ in await _runs(owner_pool, connector)] == ["running"]


class _DemotesItsActor:
    """A connector whose ERP is read while an admin demotes the connector's acting member."""

    entities = frozenset(Entity)

    def __init__(self, demote: Callable[[], Awaitable[None]]) -> None:
        self.demote = demote

    async def pull(self, entity: Entity, cursor: object) -> AsyncIterator[Page]:
        await self.demote()
        return
        yield  # pragma: no cover

    async def aclose(self) -> None:
        pass


async def test_a_run_whose_acting_member_is_demoted_meanwhile_fails_and_is_announced(
    sync_deps, owner_pool, make_tenant
):
    # Before, closing the run as that member updated no row: the run stayed 'running' (blocking the connector for
    # 15 minutes, then "abandoned"), with no integration.sync_failed event and no notification.
    tenant = await make_tenant()
    connector = await odoo_connector(sync_deps, tenant, FakeOdoo().url)
    demoting = dataclasses.replace(
        sync_deps, connector_factory=lambda *_: _DemotesItsActor(lambda: _lose_write(owner_pool, tenant, "demoted"))
    )
    run = await run_sync(demoting, tenant.id, connector)
    assert (run["status"], run["error"]) == ("failed", ACTOR_CANNOT_WRITE)
    assert await _runs(owner_pool, connector) == [("failed", ACTOR_CANNOT_WRITE)]
    async with owner_pool.acquire() as conn:
        titles = await conn.fetch(
            "SELECT title FROM app.notifications WHERE tenant_id = $1 AND kind = 'integration_sync'", tenant.id
        )
    assert [t["title"] for t in titles] == [f"ERP sync of erp failed: {ACTOR_CANNOT_WRITE}"]


async def test_members_cannot_close_runs_as_the_service(sync_deps, make_tenant):
    tenant = await make_tenant()
    connector = await odoo_connector(sync_deps, tenant, FakeOdoo().url)
    run = await sync_deps.database.run(tenant.claims(), None, lambda tx: queue_run(tx, connector, "api"))

    async def op(tx: TenantTransaction):
        return await tx.conn.fetch(
            "SELECT * FROM app.close_integration_run($1, 'failed', '{}', 'x', '{queued}')", run["id"]
        )

    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await sync_deps.database.run(tenant.claims(tenant.admin), None, op)


async def test_a_failed_sync_is_announced_as_a_notification(sync_deps, owner_pool, make_tenant):
    tenant = await make_tenant()
    with FakeOdoo() as fake:
        connector = await odoo_connector(sync_deps, tenant, fake.url, api_key="wrong")
        run = await run_sync(sync_deps, tenant.id, connector)
    assert run["status"] == "failed"
    async with owner_pool.acquire() as conn:
        title = await conn.fetchval(
            "SELECT title FROM app.notifications WHERE tenant_id = $1 AND kind = 'integration_sync'", tenant.id
        )
    assert "failed" in title and "Odoo refused the login" in title


class _AnswersNoJson:
    """A connector whose ERP answers something no connector expects (an HTML page read as JSON)."""

    entities = frozenset(Entity)

    def __init__(self, *_: object) -> None:
        pass

    async def pull(self, entity: Entity, cursor: object) -> AsyncIterator[Page]:
        raise ValueError("Expecting value: line 1 column 1 (char 0)")
        yield  # pragma: no cover

    async def aclose(self) -> None:
        pass


async def test_an_unexpected_error_fails_the_run_with_its_error_and_announces_it(sync_deps, owner_pool, make_tenant):
    # Before, the run stayed 'running' (the connector blocked for 15 minutes, then "abandoned") and no one was told.
    tenant = await make_tenant()
    with FakeOdoo() as fake:
        connector = await odoo_connector(sync_deps, tenant, fake.url)
    broken = dataclasses.replace(sync_deps, connector_factory=_AnswersNoJson)
    with pytest.raises(ValueError, match="Expecting value"):
        await run_sync(broken, tenant.id, connector)
    async with owner_pool.acquire() as conn:
        run = await conn.fetchrow(
            "SELECT status, error FROM app.integration_sync_runs WHERE connector_id = $1", connector
        )
        notified = await conn.fetchval(
            "SELECT count(*) FROM app.notifications WHERE tenant_id = $1 AND kind = 'integration_sync'", tenant.id
        )
    assert (run["status"], notified) == ("failed", 1)
    assert run["error"] == "unexpected error: ValueError: Expecting value: line 1 column 1 (char 0)"


class _StockOfUnsyncedProducts:
    """A connector whose every stock snapshot reports stock of products the ERP never sent (each dead-lettered)."""

    entities = frozenset({Entity.STOCK})

    def __init__(self, products: list[str]) -> None:
        self.products = products

    async def pull(self, entity: Entity, cursor: object) -> AsyncIterator[Page]:
        fields = {"warehouse_code": "WH-0", "quantity": Decimal(5)}
        yield Page([SourceRecord(f"stock-{p}", {**fields, "product_external_id": p}) for p in self.products])

    async def aclose(self) -> None:
        pass


async def test_a_sync_notifies_only_the_dead_letters_it_opens(sync_deps, owner_pool, make_tenant):
    # Before, every run dead-lettering the same record again wrote another "some records were dead-lettered"
    # notification: at a 5-minute interval, 288 identical ones a day.
    tenant = await make_tenant()
    connector = await odoo_connector(sync_deps, tenant, FakeOdoo().url)
    products = ["never-synced"]
    stock = dataclasses.replace(sync_deps, connector_factory=lambda *_: _StockOfUnsyncedProducts(products))

    async def notified() -> int:
        count: int = await owner_pool.fetchval(
            "SELECT count(*) FROM app.notifications WHERE tenant_id = $1 AND kind = 'integration_sync'", tenant.id
        )
        return count

    for _ in range(2):
        run = await run_sync(stock, tenant.id, connector)
        assert (run["status"], run["counts"]["stock"]["dead_lettered"]) == ("completed_with_errors", 1)
    assert await notified() == 1
    products.append("also-never-synced")
    await run_sync(stock, tenant.id, connector)
    assert await notified() == 2
    await owner_pool.execute(
        "UPDATE app.integration_dead_letters SET resolved_at = now() WHERE tenant_id = $1", tenant.id
    )  # as if the products had synced meanwhile
    async with tap(owner_pool, tenant.id) as seen:
        await run_sync(stock, tenant.id, connector)  # both fail again: reopened, so told again
        await run_sync(stock, tenant.id, connector)
    assert await notified() == 3
    assert [e["type"] for e in seen] == ["integration.sync_finished"] * 2  # every run still posts its event
