"""The sync engine: one run of one connector for one tenant (pushing orders is integrations.push).

A run acts with the membership of the connector's acting user (the admin who configured it), through
``Database.run`` like any request, so row-level security confines it to that tenant. Each page of records
is committed in one transaction together with the cursor that covers it: a run that fails half way keeps
everything committed, and the next run resumes from the last committed cursor. Records that fail
validation or mapping go to the dead letter list; only connector failures (credentials, unreachable ERP,
throttling past the retry budget, protocol errors) fail the run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

import asyncpg

from common.config import Settings
from common.database import Database, TenantTransaction
from common.errors import ConflictError, DomainError, NotFoundError, PermissionDeniedError, describe
from integrations import store
from integrations.apply import Counts, apply_page, close_stock_snapshot, storable
from integrations.connector import Connector, ConnectorConfig, connector_class
from integrations.crypto import CredentialCipher, cipher_from_key
from integrations.external_ids import SyncScope
from integrations.http import RetryPolicy
from integrations.mapping import FieldMapping
from integrations.reconcile import reconcile_orders
from integrations.records import ENTITY_ORDER, Entity
from integrations.sync_notices import announce, announcement, event_kind
from inventory import events

logger = logging.getLogger(__name__)

ACTOR_CANNOT_WRITE = "the connector's acting member is no longer an admin or planner: re-save the connector as one"

ConnectorFactory = Callable[[str, ConnectorConfig], Connector]


def build_connector(kind: str, config: ConnectorConfig) -> Connector:
    return connector_class(kind)(config)


@dataclass(frozen=True)
class SyncDeps:
    database: Database
    cipher: CredentialCipher
    retry: RetryPolicy
    page_size: int
    connector_factory: ConnectorFactory = build_connector

    @classmethod
    def from_settings(cls, settings: Settings, database: Database) -> SyncDeps:
        return cls(
            database=database,
            cipher=cipher_from_key(settings.integrations_key),
            retry=RetryPolicy(
                max_attempts=settings.integrations_max_attempts,
                backoff_s=settings.integrations_backoff_s,
                max_delay_s=settings.integrations_max_retry_delay_s,
                timeout_s=settings.integrations_http_timeout_s,
                allowed_networks=tuple(settings.integrations_allowed_networks),
            ),
            page_size=settings.integrations_page_size,
        )


async def acting_claims(database: Database, tenant_id: UUID, connector_id: UUID) -> dict[str, Any]:
    """The claims a background job for this connector runs with: those of its acting member."""
    async with database.connection() as conn:
        actor = await conn.fetchval("SELECT app.integration_actor($1, $2)", tenant_id, connector_id)
    if actor is None:
        raise NotFoundError(f"connector {connector_id} not found in tenant {tenant_id}", code="unknown_connector")
    return {"sub": str(actor), "role": "authenticated", "aud": "authenticated"}


async def queue_run(tx: TenantTransaction, connector_id: UUID, trigger: str) -> dict:
    """Record a queued run for a job to pick up (the API does this before submitting the Ray task)."""
    tx.require_write()
    connector = await store.get_connector(tx.conn, connector_id)
    if not connector["enabled"]:
        raise ConflictError(f"connector {connector['name']!r} is disabled", code="connector_disabled")
    if not await store.actor_may_write(tx.conn, connector):
        # Its job would act as that member and could not start: the run would wait, queued, to be abandoned.
        raise ConflictError(
            f"connector {connector['name']!r} acts as a member who is no longer an admin or planner: an admin "
            "saves it again (PATCH) to act as themselves",
            code="connector_actor_cannot_write",
        )
    return await store.create_run(tx, connector_id, trigger, status="queued", requested_by=tx.user_id)


async def fail_queued_run(deps: SyncDeps, tenant_id: UUID, connector_id: UUID, run_id: UUID, error: str) -> None:
    if await close_run(deps.database, run_id, "failed", {}, error, ("queued",)) is None:
        logger.info("ERP sync run %s of connector %s (tenant %s) was no longer queued", run_id, connector_id, tenant_id)


async def close_run(
    database: Database,
    run_id: UUID,
    status: str,
    counts: dict[str, dict[str, int]],
    error: str | None,
    from_statuses: tuple[str, ...],
) -> dict | None:
    """Close the run if it is still in one of ``from_statuses`` and announce it; None if it was not.

    As the service (app.close_integration_run, migration 0163), not as the acting member: one demoted or removed
    since the run was queued may no longer write it, and the run would block the connector's next sync.
    """
    async with database.connection() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT * FROM app.close_integration_run($1, $2, $3, $4, $5)",
            run_id,
            status,
            counts,
            None if error is None else error[:2000],
            list(from_statuses),
        )
        if row is None:
            return None
        run = dict(row)
        tenant_id, connector_name = run.pop("tenant_id"), run.pop("connector_name")
        # The function wrote the notification; the event goes out with this transaction's commit.
        await events.publish(
            cast(asyncpg.Connection, conn), tenant_id, event_kind(run), announcement(run, connector_name)
        )
    return run


@dataclass
class _Setup:
    run: dict
    connector: dict
    credentials: dict
    cursors: dict[Entity, dict | None]
    units: frozenset[str]


async def run_sync(
    deps: SyncDeps, tenant_id: UUID, connector_id: UUID, *, run_id: UUID | None = None, trigger: str = "cli"
) -> dict:
    """Run one sync to the end (or to its first connector failure); returns the finished run."""
    claims = await acting_claims(deps.database, tenant_id, connector_id)

    async def start(tx: TenantTransaction) -> _Setup:
        connector = await store.get_connector(tx.conn, connector_id)
        if not await store.actor_may_write(tx.conn, connector):
            raise ConflictError(ACTOR_CANNOT_WRITE, code="connector_actor_cannot_write")
        tx.require_write()
        if run_id is None:
            if not connector["enabled"]:
                raise ConflictError(f"connector {connector['name']!r} is disabled", code="connector_disabled")
            run = await store.create_run(tx, connector_id, trigger, status="running", requested_by=None)
        else:
            await store.start_queued_run(tx.conn, run_id)
            run = await store.get_run(tx.conn, run_id)
        units = await tx.conn.fetch("SELECT code FROM app.units_of_measure")
        return _Setup(
            run=run,
            connector=connector,
            credentials=await store.connector_credentials(tx.conn, connector_id, deps.cipher),
            cursors=await store.sync_cursors(tx.conn, connector_id),
            units=frozenset(r["code"] for r in units),
        )

    try:
        setup = await deps.database.run(claims, tenant_id, start)
    except PermissionDeniedError as exc:  # the acting member was removed from the tenant
        raise ConflictError(ACTOR_CANNOT_WRITE, code="connector_actor_cannot_write") from exc
    the_run_id: UUID = setup.run["id"]
    scope = SyncScope(
        tenant_id=tenant_id,
        connector_id=connector_id,
        connector_name=setup.connector["name"],
        run_id=the_run_id,
        mapping=FieldMapping.model_validate(setup.connector["mapping"]),
        units=setup.units,
    )
    totals: dict[str, Counts] = {}
    error: str | None = None
    unexpected: Exception | None = None
    connector: Connector | None = None
    try:
        connector = deps.connector_factory(
            setup.connector["kind"],
            ConnectorConfig(
                base_url=setup.connector["base_url"],
                credentials=setup.credentials,
                options=setup.connector["options"],
                page_size=deps.page_size,
                retry=deps.retry,
            ),
        )
        wanted = set(setup.connector["entities"])
        for entity in ENTITY_ORDER:
            if entity not in connector.entities or entity.value not in wanted:
                continue
            counts = totals.setdefault(entity.value, Counts())
            reported: set[str] = set()
            async for page in connector.pull(entity, setup.cursors.get(entity)):
                reported.update(record.external_id for record in page.records)
                counts.add(await deps.database.run(claims, tenant_id, _page_operation(scope, entity, page)))
            if entity == Entity.STOCK:  # the whole snapshot is in: what it no longer holds is gone from the ERP
                counts.add(await deps.database.run(claims, tenant_id, _closing_operation(scope, reported)))
            if entity == Entity.PURCHASE_ORDERS:  # every order read: the open ones the ERP deleted are closed
                counts.add(await reconcile_orders(deps.database, claims, tenant_id, scope, connector))
    except DomainError as exc:  # the ERP's failures (ConnectorError) included
        error = exc.message
    except (OSError, asyncpg.PostgresError) as exc:
        error = describe(exc)
    except Exception as exc:
        # Anything else is a fault of ours or an ERP answer no connector expected: the run is closed as failed,
        # with the error and the usual announcement, and the exception goes on to the job's error reporting.
        unexpected = exc
        error = f"unexpected error: {describe(exc)}"
    finally:
        if connector is not None:
            await connector.aclose()
    if error is not None:
        error = storable(error)  # the ERP's own text can hold U+0000, which would keep the run from being closed
        logger.warning("ERP sync %s of connector %s failed: %s", the_run_id, connector_id, error)
    dead = sum(c.dead_lettered for c in totals.values())
    status = "failed" if error else ("completed_with_errors" if dead else "succeeded")

    run_counts = {k: v.as_dict() for k, v in totals.items()}

    async def finish(tx: TenantTransaction) -> dict | None:
        run = await store.finish_run(tx.conn, the_run_id, status, run_counts, error)
        if run is not None:
            await announce(tx, setup.connector, run)
        return run

    try:
        result: dict | None = await deps.database.run(claims, tenant_id, finish)
    except PermissionDeniedError:  # the acting member was removed from the tenant during the run
        result = None
    if result is None:
        # The acting member lost the right to write during the run: whatever it wrote stays, but the connector
        # cannot sync again until an admin re-saves it, so the run fails, naming why.
        closed_with = storable(ACTOR_CANNOT_WRITE if error is None else f"{ACTOR_CANNOT_WRITE}; {error}")
        result = await close_run(deps.database, the_run_id, "failed", run_counts, closed_with, ("running",))
    if unexpected is not None:
        raise unexpected
    if result is None:
        raise ConflictError(f"sync run {the_run_id} was closed or removed meanwhile", code="sync_run_closed")
    return result


def _page_operation(scope: SyncScope, entity: Entity, page: Any) -> Callable[[TenantTransaction], Any]:
    async def op(tx: TenantTransaction) -> Counts:
        return await apply_page(tx.conn, scope, entity, page)

    return op


def _closing_operation(scope: SyncScope, reported: set[str]) -> Callable[[TenantTransaction], Any]:
    async def op(tx: TenantTransaction) -> Counts:
        return await close_stock_snapshot(tx.conn, scope, reported)

    return op
