"""Shipments, their tracking timeline, and the signed carrier webhook."""

import time
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from common.database import TenantTransaction
from deployments.api.deps import CallerDep, SettingsDep, get_services
from deployments.api.errors import error_body
from deployments.api.idempotent import IdempotentDep
from deployments.api.list_route import add_list_route
from integrations.crypto import cipher_from_key
from inventory import carrier_signatures, shipment_holds, shipments, webhook_keys
from inventory.shipment_schemas import (
    CarrierWebhookEvent,
    Shipment,
    ShipmentCreate,
    ShipmentSummary,
    TrackingEvent,
    TrackingEventCreate,
)

router = APIRouter(prefix="/shipments", tags=["shipments"])
webhook_router = APIRouter(prefix="/webhooks", tags=["webhooks"])


class WebhookResult(BaseModel):
    shipment_id: UUID
    status: str
    recorded: bool


@router.post("", status_code=201, response_model=Shipment, summary="Create an inbound or outbound shipment")
async def create_shipment(payload: Annotated[ShipmentCreate, Body()], write: IdempotentDep) -> JSONResponse:
    async def op(tx: TenantTransaction) -> Shipment:
        return Shipment.model_validate(await shipments.create_shipment(tx.conn, tx.tenant_id, tx.user_id, payload))

    return await write.run(payload, op, status_code=201)


@router.post(
    "/{shipment_id}/cancel",
    response_model=Shipment,
    summary="Cancel a shipment not yet delivered; an outbound one releases the holds it placed",
)
async def cancel_shipment(shipment_id: UUID, write: IdempotentDep) -> JSONResponse:
    async def op(tx: TenantTransaction) -> Shipment:
        await shipment_holds.cancel_shipment(tx.conn, shipment_id)
        return Shipment.model_validate(await shipments.get_shipment(tx.conn, shipment_id))

    return await write.run(None, op, status_code=200)


add_list_route(router, "", shipments.SHIPMENTS, ShipmentSummary, shipments.list_shipments, "List shipments")


@router.get("/{shipment_id}", response_model=Shipment, summary="A shipment with its lines and timeline")
async def get_shipment(shipment_id: UUID, caller: CallerDep) -> Shipment:
    return Shipment.model_validate(await caller.run(lambda tx: shipments.get_shipment(tx.conn, shipment_id)))


@router.get("/{shipment_id}/events", response_model=list[TrackingEvent], summary="The tracking timeline, oldest first")
async def get_timeline(shipment_id: UUID, caller: CallerDep) -> list[TrackingEvent]:
    async def op(tx: TenantTransaction) -> list[dict]:
        await shipments.get_shipment(tx.conn, shipment_id)
        return await shipments.timeline(tx.conn, shipment_id)

    return [TrackingEvent.model_validate(e) for e in await caller.run(op)]


@router.post("/{shipment_id}/events", status_code=201, response_model=Shipment, summary="Append a tracking event")
async def add_event(
    shipment_id: UUID, event: Annotated[TrackingEventCreate, Body()], write: IdempotentDep
) -> JSONResponse:
    # A delivery issues stock and closes the timeline: a retry after a lost answer must get that answer, not 409.
    async def op(tx: TenantTransaction) -> Shipment:
        shipment, _ = await shipments.record_event(tx.conn, tx.tenant_id, tx.user_id, shipment_id, event, source="api")
        return Shipment.model_validate(shipment)

    return await write.run(event, op, status_code=201)


@router.post(
    "/{shipment_id}/issue-stock",
    response_model=Shipment,
    summary="Issue the lines a carrier's delivery could not (the stock was short); refused while it still is",
)
async def issue_stock(shipment_id: UUID, write: IdempotentDep) -> JSONResponse:
    async def op(tx: TenantTransaction) -> Shipment:
        return Shipment.model_validate(await shipments.issue_stock(tx.conn, tx.tenant_id, tx.user_id, shipment_id))

    return await write.run(None, op, status_code=200)


@webhook_router.post(
    "/carrier-events",
    response_model=WebhookResult,
    summary="Carrier tracking webhook (HMAC-SHA256 with the tenant's key, no bearer token)",
    responses={
        401: {"description": "missing, unknown or revoked key id, or a stale or wrong signature"},
        409: {"description": "event_id already used for a different event"},
    },
)
async def carrier_webhook(
    request: Request,
    settings: SettingsDep,
    x_chainsight_key_id: Annotated[str | None, Header(description="The tenant's webhook key id")] = None,
    x_chainsight_timestamp: Annotated[str | None, Header(description="Unix seconds when signed")] = None,
    x_chainsight_signature: Annotated[
        str | None, Header(description="sha256=<hex HMAC-SHA256 of '<timestamp>.<raw body>'> with the key's secret")
    ] = None,
) -> JSONResponse:
    """The tenant is the signing key's; a repeated ``event_id`` (a carrier retry, or a captured request replayed
    inside the skew window) answers 200 with ``recorded: false`` and changes nothing."""
    body = await request.body()
    key_id = _uuid_or_none(x_chainsight_key_id)
    if key_id is None:
        return _refused("send X-Chainsight-Key-Id with your webhook key's id")
    now, skew = time.time(), settings.carrier_webhook_max_skew_s
    stale = carrier_signatures.freshness_problem(
        x_chainsight_timestamp, x_chainsight_signature, now=now, max_skew_s=skew
    )
    if stale is not None:
        return _refused(stale)
    cipher = cipher_from_key(settings.integrations_key)
    database = get_services(request).database
    # Anonymous callers must not queue on the pool without bound either: a busy pool answers 503 database_busy.
    async with database.connection() as conn:
        found = await webhook_keys.active_key(conn, key_id, cipher)
        if found is None:
            return _refused("unknown or revoked webhook key id")
        tenant_id, secret = found
        problem = carrier_signatures.signature_problem(
            secret,
            x_chainsight_timestamp,
            x_chainsight_signature,
            body,
            now=now,
            max_skew_s=skew,
        )
        if problem is not None:
            return _refused(problem)
        await webhook_keys.mark_used(conn, key_id)
        await carrier_signatures.ensure_integration_member(conn, tenant_id)
    try:
        event = CarrierWebhookEvent.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from exc
    # The event, not its bytes: a retry serialised another way is the same event (the raw body's digest matches a
    # delivery recorded before 2026-12-08).
    digest, raw_digest = webhook_keys.event_digest(event), webhook_keys.body_digest(body)

    async def op(tx: TenantTransaction) -> WebhookResult:
        shipment_id = await shipments.find_by_tracking(tx.conn, event.carrier, event.tracking_number)
        if not await webhook_keys.claim_event(tx, event.event_id, key_id, digest, shipment_id, also_matches=raw_digest):
            current = await shipments.get_shipment(tx.conn, shipment_id)
            return WebhookResult(shipment_id=shipment_id, status=current["status"], recorded=False)
        shipment, recorded = await shipments.record_event(
            tx.conn, tx.tenant_id, tx.user_id, shipment_id, event, source="webhook", short_stock="defer"
        )
        return WebhookResult(shipment_id=shipment_id, status=shipment["status"], recorded=recorded)

    result = await database.run(carrier_signatures.integration_claims(), tenant_id, op)
    return JSONResponse(result.model_dump(mode="json"))


def _uuid_or_none(value: str | None) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        return None


def _refused(reason: str) -> JSONResponse:
    return JSONResponse(error_body("invalid_signature", reason), status_code=401)
