"""Connector configurations, runs, dead letters and cursors: SQL over a tenant transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from common.database import MemberRole, TenantTransaction
from common.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from integrations.connector import connector_class
from integrations.crypto import CredentialCipher
from integrations.records import Entity
from integrations.schemas import ConnectorCreate, ConnectorUpdate, check_kind, check_signing
from inventory.listing import Listing, ListQuery, Page

CONNECTOR_COLUMNS = (
    "id, name, kind, base_url, options, mapping, entities, enabled, sync_interval_minutes, acting_user_id, "
    "created_at, updated_at"
)
RUN_COLUMNS = "id, connector_id, status, trigger, requested_by, counts, error, created_at, started_at, finished_at"
DEAD_LETTER_COLUMNS = (
    "id, entity, external_id, run_id, error, payload, attempts, first_seen_at, last_seen_at, resolved_at"
)
# Newest first by when a record first failed, which a sync meeting it again does not move (last_seen_at does:
# a walk by it missed a letter seen again meanwhile); the route adds the connector and whether resolved ones count.
DEAD_LETTERS = Listing(
    table="app.integration_dead_letters",
    columns=tuple(c.strip() for c in DEAD_LETTER_COLUMNS.split(",")),
    sortable={"first_seen_at": datetime, "last_seen_at": datetime},
    default_sort="-first_seen_at",
)


def require_admin(tx: TenantTransaction) -> None:
    if tx.role is not MemberRole.ADMIN:
        raise PermissionDeniedError("configuring ERP connectors needs the admin role")


async def create_connector(tx: TenantTransaction, data: ConnectorCreate, cipher: CredentialCipher) -> dict:
    require_admin(tx)
    supported = connector_class(data.kind).entities
    entities = [e for e in (data.entities or supported) if e in supported]
    try:
        row = await tx.conn.fetchrow(
            f"""INSERT INTO app.integration_connectors
                    (tenant_id, name, kind, base_url, options, credentials, mapping, entities, acting_user_id,
                     enabled, created_by, sync_interval_minutes)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9, $11) RETURNING {CONNECTOR_COLUMNS}""",
            tx.tenant_id,
            data.name,
            data.kind,
            data.base_url,
            data.options,
            cipher.encrypt(data.credentials),
            data.mapping.model_dump(),
            [e.value for e in entities],
            tx.user_id,
            data.enabled,
            data.sync_interval_minutes,
        )
    except asyncpg.UniqueViolationError as exc:
        raise ConflictError(f"a connector named {data.name!r} already exists", code="connector_exists") from exc
    assert row is not None
    return dict(row)


async def update_connector(
    tx: TenantTransaction, connector_id: UUID, changes: ConnectorUpdate, cipher: CredentialCipher
) -> dict:
    require_admin(tx)
    # Held until commit, so that the configuration checked below is the one this update replaces: two updates at
    # once could each bring a key or an algorithm that fits the other side as it was, and not each other.
    await tx.conn.execute("SELECT 1 FROM app.integration_connectors WHERE id = $1 FOR UPDATE", connector_id)
    current = await get_connector(tx.conn, connector_id)
    _require_credentials_for_new_hosts(current, changes)
    try:  # what replaces the stored credentials or options must be whole, as when the connector was created
        check_kind(current["kind"], changes.credentials, changes.options)
        if current["kind"] == "netsuite" and (changes.credentials is not None or changes.options is not None):
            # The key and the algorithm it signs with may change in different requests: both are checked as the
            # update leaves them, the side it does not replace as stored.
            credentials = changes.credentials
            if credentials is None:
                credentials = await connector_credentials(tx.conn, connector_id, cipher)
            check_signing(credentials, current["options"] if changes.options is None else changes.options)
    except ValueError as exc:
        raise InvalidInputError(str(exc), code="invalid_connector") from exc
    values: dict[str, Any] = {}
    for name in ("base_url", "options", "enabled"):
        if getattr(changes, name) is not None:
            values[name] = getattr(changes, name)
    if "sync_interval_minutes" in changes.model_fields_set:  # null clears the schedule
        values["sync_interval_minutes"] = changes.sync_interval_minutes
    if changes.mapping is not None:
        values["mapping"] = changes.mapping.model_dump()
        if values["mapping"] != current["mapping"]:
            # A run under way would write its cursors over the cleared ones: what it read under the old mapping
            # would never be read again.
            if await tx.conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM app.integration_sync_runs WHERE connector_id = $1 "
                "AND status IN ('queued', 'running'))",
                connector_id,
            ):
                raise ConflictError(
                    f"a sync of {current['name']!r} is under way: change its mapping when the run has finished",
                    code="sync_in_progress",
                )
            # Records read under the old mapping (those it dead-lettered among them) are read again next sync;
            # unchanged ones cost no write.
            await tx.conn.execute(
                "UPDATE app.integration_sync_state SET cursor = NULL, updated_at = now() WHERE connector_id = $1",
                connector_id,
            )
    if changes.credentials is not None:
        values["credentials"] = cipher.encrypt(changes.credentials)
    if changes.entities is not None:
        supported = connector_class(current["kind"]).entities
        values["entities"] = [e.value for e in changes.entities if e in supported]
    # Whoever changes the configuration is who the jobs act as from now on.
    values["acting_user_id"] = tx.user_id
    assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(values, start=2))
    row = await tx.conn.fetchrow(
        f"""UPDATE app.integration_connectors SET {assignments}, updated_at = now() WHERE id = $1
            RETURNING {CONNECTOR_COLUMNS}""",
        connector_id,
        *values.values(),
    )
    assert row is not None
    return dict(row)


# The addresses stored credentials are sent to: a change must come with the credentials again, or an admin
# could redirect the tenant's ERP secrets to a host of their choosing without ever knowing them.
_HOST_OPTIONS = ("token_url",)


def _require_credentials_for_new_hosts(current: dict, changes: ConnectorUpdate) -> None:
    if changes.credentials is not None:
        return
    moved = []
    if changes.base_url is not None and changes.base_url != current["base_url"]:
        moved.append("base_url")
    if changes.options is not None:
        moved += [o for o in _HOST_OPTIONS if changes.options.get(o) != current["options"].get(o)]
    if moved:
        raise InvalidInputError(
            f"changing {', '.join(moved)} sends the credentials to a new address: send the credentials again",
            code="credentials_required",
            details={"changed": moved},
        )


async def delete_connector(tx: TenantTransaction, connector_id: UUID) -> None:
    require_admin(tx)
    status = await tx.conn.execute("DELETE FROM app.integration_connectors WHERE id = $1", connector_id)
    if status == "DELETE 0":
        raise NotFoundError(f"connector {connector_id} not found", code="unknown_connector")


async def get_connector(conn: asyncpg.Connection, connector_id: UUID) -> dict:
    row = await conn.fetchrow(f"SELECT {CONNECTOR_COLUMNS} FROM app.integration_connectors WHERE id = $1", connector_id)
    if row is None:
        raise NotFoundError(f"connector {connector_id} not found", code="unknown_connector")
    return dict(row)


async def connector_credentials(conn: asyncpg.Connection, connector_id: UUID, cipher: CredentialCipher) -> dict:
    token = await conn.fetchval("SELECT credentials FROM app.integration_connectors WHERE id = $1", connector_id)
    if token is None:
        raise NotFoundError(f"connector {connector_id} not found", code="unknown_connector")
    return cipher.decrypt(token)


async def list_connectors(conn: asyncpg.Connection) -> list[dict]:
    rows = await conn.fetch(f"SELECT {CONNECTOR_COLUMNS} FROM app.integration_connectors ORDER BY name")
    return [dict(r) for r in rows]


async def connector_status(conn: asyncpg.Connection, connector_id: UUID) -> dict:
    connector = await get_connector(conn, connector_id)
    state = await conn.fetch(
        "SELECT entity, cursor, updated_at FROM app.integration_sync_state WHERE connector_id = $1 ORDER BY entity",
        connector_id,
    )
    last = await conn.fetchrow(
        f"""SELECT {RUN_COLUMNS} FROM app.integration_sync_runs WHERE connector_id = $1
            ORDER BY created_at DESC, id DESC LIMIT 1""",
        connector_id,
    )
    open_letters = await conn.fetchval(
        "SELECT count(*) FROM app.integration_dead_letters WHERE connector_id = $1 AND resolved_at IS NULL",
        connector_id,
    )
    next_sync_at = None
    if (
        connector["enabled"]
        and connector["sync_interval_minutes"] is not None
        and await actor_may_write(conn, connector)
    ):
        # As app.claim_due_integration_syncs decides: the interval counts from the latest run's start.
        next_sync_at = await conn.fetchval(
            """SELECT coalesce(max(coalesce(started_at, created_at)) + make_interval(mins => $2), now())
               FROM app.integration_sync_runs WHERE connector_id = $1""",
            connector_id,
            connector["sync_interval_minutes"],
        )
    return {
        **connector,
        "state": [dict(r) for r in state],
        "last_run": dict(last) if last else None,
        "open_dead_letters": open_letters,
        "next_sync_at": next_sync_at,
    }


async def actor_may_write(conn: asyncpg.Connection, connector: dict) -> bool:
    """Whether the member a connector's jobs act as is still an admin or planner of the connector's tenant (jobs
    cannot start otherwise). The role is read in that tenant, as app.claim_due_integration_syncs reads it: a caller
    sees their own memberships in other tenants, and a writer role there must not count here."""
    return bool(
        await conn.fetchval(
            """SELECT EXISTS (
                   SELECT 1 FROM app.integration_connectors c
                   JOIN app.members m ON m.tenant_id = c.tenant_id AND m.user_id = c.acting_user_id
                   WHERE c.id = $1 AND m.role IN ('admin', 'planner'))""",
            connector["id"],
        )
    )


async def sync_cursors(conn: asyncpg.Connection, connector_id: UUID) -> dict[Entity, dict | None]:
    rows = await conn.fetch(
        "SELECT entity, cursor FROM app.integration_sync_state WHERE connector_id = $1", connector_id
    )
    return {Entity(r["entity"]): r["cursor"] for r in rows}


async def create_run(
    tx: TenantTransaction, connector_id: UUID, trigger: str, *, status: str, requested_by: UUID | None
) -> dict:
    # A run left queued or running by a job that stopped reporting is failed and announced first, as the
    # scheduler's claim does (migration 0152), so that it blocks no new one.
    await tx.conn.execute("SELECT app.fail_abandoned_integration_runs($1)", connector_id)
    try:
        async with tx.conn.transaction():
            row = await tx.conn.fetchrow(
                f"""INSERT INTO app.integration_sync_runs
                        (tenant_id, connector_id, status, trigger, requested_by, started_at, heartbeat_at)
                    VALUES ($1, $2, $3, $4, $5, CASE WHEN $3 = 'running' THEN now() END,
                            CASE WHEN $3 = 'running' THEN now() END)
                    RETURNING {RUN_COLUMNS}""",
                tx.tenant_id,
                connector_id,
                status,
                trigger,
                requested_by,
            )
    except asyncpg.UniqueViolationError as exc:
        raise ConflictError(
            "a sync of this connector is already queued or running; wait for it to finish",
            code="sync_in_progress",
        ) from exc
    assert row is not None
    return dict(row)


async def start_queued_run(conn: asyncpg.Connection, run_id: UUID) -> None:
    status = await conn.execute(
        """UPDATE app.integration_sync_runs SET status = 'running', started_at = now(), heartbeat_at = now()
           WHERE id = $1 AND status = 'queued'""",
        run_id,
    )
    if status == "UPDATE 0":
        raise ConflictError(f"sync run {run_id} is not queued (already started, finished or unknown)")


async def finish_run(
    conn: asyncpg.Connection, run_id: UUID, status: str, counts: dict[str, dict[str, int]], error: str | None
) -> dict | None:
    """Close the run; None when the caller may no longer write it (its acting member was demoted meanwhile)."""
    row = await conn.fetchrow(
        f"""UPDATE app.integration_sync_runs
            SET status = $2, counts = $3, error = $4, finished_at = now(), heartbeat_at = now()
            WHERE id = $1 RETURNING {RUN_COLUMNS}""",
        run_id,
        status,
        counts,
        error,
    )
    return dict(row) if row is not None else None


async def announce_dead_letters(conn: asyncpg.Connection, connector_id: UUID) -> int:
    """Mark the connector's open dead letters not yet announced as announced now; how many there were. Marked in the
    transaction that writes the announcement, so each is announced once (app.close_integration_run, migration 0163,
    does the same for the runs the service closes)."""
    status = await conn.execute(
        """UPDATE app.integration_dead_letters SET announced_at = now()
           WHERE connector_id = $1 AND resolved_at IS NULL AND announced_at IS NULL""",
        connector_id,
    )
    return int(status.split()[-1])


async def get_run(conn: asyncpg.Connection, run_id: UUID) -> dict:
    row = await conn.fetchrow(f"SELECT {RUN_COLUMNS} FROM app.integration_sync_runs WHERE id = $1", run_id)
    if row is None:
        raise NotFoundError(f"sync run {run_id} not found", code="unknown_run")
    return dict(row)


async def list_runs(conn: asyncpg.Connection, connector_id: UUID, limit: int) -> list[dict]:
    await get_connector(conn, connector_id)
    rows = await conn.fetch(
        f"""SELECT {RUN_COLUMNS} FROM app.integration_sync_runs WHERE connector_id = $1
            ORDER BY created_at DESC, id DESC LIMIT $2""",
        connector_id,
        limit,
    )
    return [dict(r) for r in rows]


async def list_dead_letters(
    conn: asyncpg.Connection, connector_id: UUID, *, include_resolved: bool, query: ListQuery
) -> Page:
    """One page of a connector's dead letters (open ones unless ``include_resolved``); its ``next_cursor`` reads
    the next, so every one the connector's status counts can be reached."""
    await get_connector(conn, connector_id)
    where = ["connector_id = $1", "($2 OR resolved_at IS NULL)"]
    sql, params = DEAD_LETTERS.build(query, first_param=3, extra_where=where)
    return DEAD_LETTERS.page(await conn.fetch(sql, connector_id, include_resolved, *params), query)
