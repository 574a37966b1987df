"""ERP connectors: configuration (admins), syncs as Ray tasks, status, history, dead letters, PO push."""

from __future__ import annotations

import logging
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Query, Response

from common.database import TenantTransaction
from common.errors import ServiceUnavailableError
from deployments.api.deps import CallerDep, SettingsDep
from deployments.api.list_route import PageOf
from deployments.api.listing_params import CursorParam
from integrations import store
from integrations.crypto import cipher_from_key
from integrations.errors import ConnectorError
from integrations.push import PushOutcomeUnknownError, push_purchase_order
from integrations.schemas import (
    Connector,
    ConnectorCreate,
    ConnectorStatus,
    ConnectorUpdate,
    DeadLetter,
    PushResult,
    SyncRun,
)
from integrations.sync import SyncDeps, fail_queued_run, queue_run
from inventory.listing import ListQuery

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/integrations", tags=["integrations"])
Limit = Annotated[int, Query(ge=1, le=200)]


@router.post("/connectors", status_code=201, response_model=Connector, summary="Configure an ERP connector (admin)")
async def create_connector(payload: Annotated[ConnectorCreate, Body()], caller: CallerDep, settings: SettingsDep):
    cipher = cipher_from_key(settings.integrations_key)

    return await caller.run(lambda tx: store.create_connector(tx, payload, cipher), write=True)


@router.get("/connectors", response_model=list[Connector], summary="The tenant's ERP connectors")
async def list_connectors(caller: CallerDep):
    return await caller.run(lambda tx: store.list_connectors(tx.conn))


@router.get("/connectors/{connector_id}", response_model=ConnectorStatus, summary="A connector with its sync status")
async def get_connector(connector_id: UUID, caller: CallerDep):
    return await caller.run(lambda tx: store.connector_status(tx.conn, connector_id))


@router.patch("/connectors/{connector_id}", response_model=Connector, summary="Change a connector (admin)")
async def update_connector(
    connector_id: UUID, changes: Annotated[ConnectorUpdate, Body()], caller: CallerDep, settings: SettingsDep
):
    cipher = cipher_from_key(settings.integrations_key)

    return await caller.run(lambda tx: store.update_connector(tx, connector_id, changes, cipher), write=True)


@router.delete("/connectors/{connector_id}", status_code=204, summary="Remove a connector and its sync state (admin)")
async def delete_connector(connector_id: UUID, caller: CallerDep) -> Response:
    await caller.run(lambda tx: store.delete_connector(tx, connector_id), write=True)
    return Response(status_code=204)


@router.post(
    "/connectors/{connector_id}/sync",
    status_code=202,
    response_model=SyncRun,
    summary="Start a sync now (a Ray task); poll the run for its outcome",
)
async def trigger_sync(connector_id: UUID, caller: CallerDep, settings: SettingsDep):
    from deployments.integrations_job import submit_sync

    async def op(tx: TenantTransaction) -> tuple[UUID, dict]:
        return tx.tenant_id, await queue_run(tx, connector_id, "api")

    tenant_id, run = await caller.run(op, write=True)
    try:
        submit_sync(tenant_id, connector_id, run["id"])
    except Exception as exc:  # no cluster, or Ray refused the task: the queued run must not block the next one
        logger.exception("could not submit ERP sync %s", run["id"])
        deps = SyncDeps.from_settings(settings, caller.services.database)
        await fail_queued_run(deps, tenant_id, connector_id, run["id"], f"could not start the sync job: {exc}")
        raise ServiceUnavailableError(f"the sync job could not be started: {exc}") from exc
    return run


@router.get("/connectors/{connector_id}/runs", response_model=list[SyncRun], summary="Sync history, newest first")
async def list_runs(connector_id: UUID, caller: CallerDep, limit: Limit = 50):
    return await caller.run(lambda tx: store.list_runs(tx.conn, connector_id, limit))


@router.get("/runs/{run_id}", response_model=SyncRun, summary="One sync run")
async def get_run(run_id: UUID, caller: CallerDep):
    return await caller.run(lambda tx: store.get_run(tx.conn, run_id))


@router.get(
    "/connectors/{connector_id}/dead-letters",
    response_model=PageOf[DeadLetter],
    summary="Records the sync could not apply (open ones unless include_resolved), latest seen first",
)
async def list_dead_letters(
    connector_id: UUID,
    caller: CallerDep,
    include_resolved: bool = False,
    limit: Limit = 100,
    cursor: CursorParam = None,
):
    query = ListQuery(limit=limit, cursor=cursor)
    page = await caller.run(
        lambda tx: store.list_dead_letters(tx.conn, connector_id, include_resolved=include_resolved, query=query)
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post(
    "/connectors/{connector_id}/purchase-orders/{order_id}/push",
    status_code=201,
    response_model=PushResult,
    summary="Create a Chainsight purchase order in the ERP",
)
async def push_order(connector_id: UUID, order_id: UUID, caller: CallerDep, settings: SettingsDep):
    deps = SyncDeps.from_settings(settings, caller.services.database)
    try:
        return await push_purchase_order(
            deps,
            caller.claims.raw,
            caller.requested_tenant,
            connector_id,
            order_id,
            deadline_s=settings.erp_push_deadline_s,
        )
    except PushOutcomeUnknownError:
        # 503 erp_timeout or erp_outcome_unknown, Retry-After when the claim lapses: not "did not accept", the ERP
        # may have made the order.
        raise
    except ConnectorError as exc:
        raise ServiceUnavailableError(f"the ERP did not accept the order: {exc}", code="erp_error") from exc
