"""``/api/v1/events``: a WebSocket that pushes the tenant's stock changes, PO status changes, shipment
events and alerts as they commit.

Protocol: connect, then send ``{"type": "auth", "token": "<access token>", "tenant_id": "<optional>"}``
within 10 s (a token in the first message stays out of URLs and access logs). The server answers
``{"type": "ready", "tenant_id": ...}`` and then one JSON message per event. Bad or missing auth closes
with 4401, a non-member with 4403; the socket closes with 4401 when the token expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect

from common.auth import AuthenticationError
from common.database import TenantTransaction
from common.errors import DomainError
from deployments.api.cors import require_allowed_origin
from deployments.api.deps import Services
from deployments.api.event_hub import EventHub

router = APIRouter(tags=["real-time"])
AUTH_TIMEOUT_S = 10.0


def event_hub(websocket: WebSocket) -> EventHub:
    state = websocket.app.state
    hub: EventHub | None = getattr(state, "event_hub", None)
    if hub is None:
        hub = EventHub(str(state.settings.database_url))
        state.event_hub = hub
    return hub


@router.websocket("/events", dependencies=[Depends(require_allowed_origin)])
async def events(websocket: WebSocket) -> None:
    await websocket.accept()
    services: Services = websocket.app.state.services
    try:
        message = json.loads(await asyncio.wait_for(websocket.receive_text(), AUTH_TIMEOUT_S))
        if not isinstance(message, dict) or message.get("type") != "auth" or not message.get("token"):
            raise AuthenticationError("auth_required", 'send {"type": "auth", "token": "..."} first')
        claims = await services.verifier.verify(str(message["token"]))
        requested = UUID(message["tenant_id"]) if message.get("tenant_id") else claims.tenant_hint
    except (TimeoutError, ValueError, AuthenticationError, WebSocketDisconnect) as exc:
        code = exc.code if isinstance(exc, AuthenticationError) else "auth_required"
        with contextlib.suppress(Exception):
            await websocket.send_json({"type": "error", "code": code, "message": str(exc)})
            await websocket.close(4401)
        return

    async def membership(tx: TenantTransaction) -> UUID:
        return tx.tenant_id

    try:
        tenant_id = await services.database.run(claims.raw, requested, membership)
    except DomainError as exc:
        await websocket.send_json({"type": "error", "code": exc.code, "message": exc.message})
        await websocket.close(4403)
        return
    expires_in = float(claims.raw.get("exp", time.time() + 3600)) - time.time()
    async with event_hub(websocket).subscribe(tenant_id) as queue:
        await websocket.send_json({"type": "ready", "tenant_id": str(tenant_id)})
        forward = asyncio.create_task(_forward(websocket, queue))
        listen = asyncio.create_task(_drain(websocket))
        done, pending = await asyncio.wait({forward, listen}, timeout=max(expires_in, 0), return_when="FIRST_COMPLETED")
        for task in pending:
            task.cancel()
        if not done:
            with contextlib.suppress(Exception):
                await websocket.send_json({"type": "error", "code": "token_expired", "message": "reconnect"})
                await websocket.close(4401)


async def _forward(websocket: WebSocket, queue: asyncio.Queue[dict[str, Any]]) -> None:
    while True:
        await websocket.send_json(await queue.get())


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, to notice when it goes away."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()
