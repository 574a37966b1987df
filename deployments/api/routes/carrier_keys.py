"""Carrier webhook keys: each tenant's admins create, list, rotate and revoke the keys carriers sign with."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Response

from deployments.api.deps import CallerDep, SettingsDep
from integrations.crypto import cipher_from_key
from inventory import webhook_keys
from inventory.shipment_schemas import CarrierWebhookKey, CarrierWebhookKeyCreate, CarrierWebhookKeySecret

router = APIRouter(prefix="/carrier-webhook-keys", tags=["webhooks"])
ADMIN_ONLY: dict[int | str, dict[str, Any]] = {403: {"description": "not an admin of the tenant"}}


@router.post(
    "",
    status_code=201,
    response_model=CarrierWebhookKeySecret,
    responses=ADMIN_ONLY,
    summary="Create a carrier webhook key (admin); the secret is shown once",
)
async def create_key(
    payload: Annotated[CarrierWebhookKeyCreate, Body()], caller: CallerDep, settings: SettingsDep
) -> dict:
    cipher = cipher_from_key(settings.integrations_key)

    return await caller.run(lambda tx: webhook_keys.create_key(tx, payload.name, cipher), write=True)


@router.get("", response_model=list[CarrierWebhookKey], responses=ADMIN_ONLY, summary="The tenant's keys (admin)")
async def list_keys(caller: CallerDep) -> list[dict]:
    return await caller.run(lambda tx: webhook_keys.list_keys(tx))


@router.post(
    "/{key_id}/rotate",
    response_model=CarrierWebhookKeySecret,
    responses={**ADMIN_ONLY, 409: {"description": "the key is revoked"}},
    summary="Give a key a new secret (admin); the old secret stops verifying at once",
)
async def rotate_key(key_id: UUID, caller: CallerDep, settings: SettingsDep) -> dict:
    cipher = cipher_from_key(settings.integrations_key)

    return await caller.run(lambda tx: webhook_keys.rotate_key(tx, key_id, cipher), write=True)


@router.delete(
    "/{key_id}",
    status_code=204,
    responses={**ADMIN_ONLY, 409: {"description": "already revoked"}},
    summary="Revoke a key (admin): nothing it signs is accepted again",
)
async def revoke_key(key_id: UUID, caller: CallerDep) -> Response:
    await caller.run(lambda tx: webhook_keys.revoke_key(tx, key_id), write=True)
    return Response(status_code=204)
