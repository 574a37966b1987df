"""Scheduled syncs: claim the connectors that are due, across tenants, each exactly once.

A connector with ``sync_interval_minutes`` set is due when it is enabled, its acting member may still
write, no run of it is queued or running, and its latest run started at least that long ago (or it never
ran). Claiming inserts a queued run with trigger ``schedule`` (``app.claim_due_integration_syncs``,
migration 0060): an advisory lock serialises concurrent schedulers and the unique index on active runs
keeps a claim from ever doubling an API-queued run. The job then starts each claimed run by id, exactly
as it starts a run the API queued (``integrations.sync.run_sync`` with ``run_id``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from integrations.sync import SyncDeps, close_run

logger = logging.getLogger(__name__)

SCHEDULE_TRIGGER = "schedule"


@dataclass(frozen=True)
class DueSync:
    """A connector the scheduler claimed, with the queued run it must start."""

    tenant_id: UUID
    connector_id: UUID
    run_id: UUID
    connector_name: str


async def claim_due_syncs(
    conn: asyncpg.Connection | asyncpg.pool.PoolConnectionProxy, *, tenant_id: UUID | None = None, limit: int = 100
) -> list[DueSync]:
    """Queue a scheduled run for every due connector (of one tenant, or all) and return the claims.

    ``conn`` is a connection of the service's login role (not a tenant transaction): the scheduler acts for
    no user and sees every tenant's connectors. The claims are committed when this returns (unless the
    caller holds a transaction open), so a crash after it leaves queued runs, which count as abandoned,
    and are failed, after 15 minutes without a start.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    rows = await conn.fetch(
        "SELECT tenant_id, connector_id, run_id, connector_name FROM app.claim_due_integration_syncs($1, $2)",
        tenant_id,
        limit,
    )
    return [DueSync(r["tenant_id"], r["connector_id"], r["run_id"], r["connector_name"]) for r in rows]


async def fail_unstarted_run(deps: SyncDeps, tenant_id: UUID, connector_id: UUID, run_id: UUID, error: str) -> bool:
    """Mark a run failed if no job has started it yet, so that it blocks no later sync; True if it did.

    A run another job already started is left alone: that job finishes it (or it is abandoned). The run is
    closed as the service, not as the acting member, who may be the very reason the job could not start.
    """
    closed = await close_run(deps.database, run_id, "failed", {}, error, ("queued",))
    if closed is None:
        logger.info("ERP sync run %s of connector %s (tenant %s) was no longer queued", run_id, connector_id, tenant_id)
    return closed is not None


async def keep_claims(conn: asyncpg.Connection | asyncpg.pool.PoolConnectionProxy, run_ids: list[UUID]) -> int:
    """Stamp the claimed runs still waiting for a worker (queued), so the next claim does not take them for
    abandoned; returns how many were still queued."""
    kept: int = await conn.fetchval("SELECT app.keep_integration_claims($1::uuid[])", run_ids)
    return kept
