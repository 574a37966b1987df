"""``/api/v1/events``: a WebSocket that pushes the tenant's stock changes, PO status changes, shipment
events and alerts as they commit.

Protocol: connect, then send ``{"type": "auth", "token": "<access token>", "tenant_id": "<optional>"}``
within 10 s (a token in the first message stays out of URLs and access logs). ``tenant_id`` is the caller's choice,
as the X-Tenant-Id header is over HTTP; without it, the token's ``app_metadata.tenant_id`` where the user is still a
member of that tenant, else their single membership. The server answers ``{"type": "ready", "tenant_id": ...}`` and
then one JSON message per event. Every refusal is an ``{"type": "error", "code", "message"}`` frame (``details``
where there are any), then a close whose code says what the client should do:

- 4401, re-authenticate: a missing, malformed, expired or forged token (or no auth frame in time);
- 4400, fix the auth frame and reconnect: ``invalid_tenant_id`` (not a UUID), ``tenant_required`` (a member of several
  tenants named none; ``details.tenants`` lists them);
- 4403, stop: the caller is not a member of the tenant it chose (or of any);
- 1013, try again later: the server cannot answer now (``auth_unavailable``: signing keys that cannot be fetched; a
  database that cannot answer whether the caller is a member: pool exhausted, too many connections, an outage);
- 4429: the caller already holds ``CONNECTIONS_PER_USER`` sockets on this replica.

Once open, the socket closes with 4401 when the token expires and with 4403 when the caller stops being a member
(re-checked every ``MEMBERSHIP_RECHECK_S``; a re-check the database cannot answer is tried again).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect

from common.auth import AuthenticationError, AuthUnavailableError
from common.database import TenantTransaction
from common.errors import (
    DatabaseUnavailableError,
    DomainError,
    InvalidInputError,
    PermissionDeniedError,
    ServiceUnavailableError,
)
from deployments.api.cors import require_allowed_origin
from deployments.api.deps import Services
from deployments.api.event_hub import EventHub

logger = logging.getLogger("deployments.api.live")
router = APIRouter(tags=["real-time"])
AUTH_TIMEOUT_S = 10.0
MEMBERSHIP_RECHECK_S = 30.0
CONNECTIONS_PER_USER = 5
TRY_AGAIN_LATER = 1013  # RFC 6455's code for a server that cannot serve now: the client reconnects
# The auth frame's tenant is unusable: neither "re-authenticate" (4401) nor "not a member, stop" (4403), which until
# 2026-12-07 these got. 4400 mirrors HTTP's 400 for the same input.
BAD_AUTH_FRAME = 4400
# What Database.run lets through as it is when the database cannot answer now: a socket error once the transaction
# began (TimeoutError included), which it cannot tell from an error of the operation itself. Everything else it raises
# as DatabaseUnavailableError (a lost connection, too many connections, a deadlock past its retries, a lock timeout:
# common.database.CANNOT_ANSWER_NOW). No answer about membership, so try again later; until 2026-12-07 these closed
# with 1011. Anything else is a bug: it still ends in 1011, logged.
NO_ANSWER = (OSError,)


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
        token, tenant_text = _auth_frame(await asyncio.wait_for(websocket.receive(), AUTH_TIMEOUT_S))
        claims = await services.verifier.verify(token)
    except (TimeoutError, ValueError, AuthenticationError, WebSocketDisconnect) as exc:
        code = exc.code if isinstance(exc, AuthenticationError) else "auth_required"
        with contextlib.suppress(Exception):
            await websocket.send_json({"type": "error", "code": code, "message": str(exc)})
            await websocket.close(4401)
        return
    except AuthUnavailableError as exc:
        # The token may be good: a client told to re-authenticate (4401) would log its user out.
        await _refuse(websocket, exc, TRY_AGAIN_LATER)
        return
    try:
        requested = _chosen_tenant(tenant_text)
    except InvalidInputError as exc:
        await _refuse(websocket, exc, BAD_AUTH_FRAME)
        return

    async def membership(tx: TenantTransaction) -> UUID:
        return tx.tenant_id

    try:
        tenant_id = await services.database.run(claims.raw, requested, membership)
    except (DomainError, *NO_ANSWER) as exc:
        refusal = exc if isinstance(exc, DomainError) else _unanswered(exc)
        # A ServiceUnavailableError says nothing about membership, so no 4403 (a client does not reconnect after it).
        if isinstance(refusal, ServiceUnavailableError):
            await _refuse(websocket, refusal, TRY_AGAIN_LATER)
        elif isinstance(refusal, InvalidInputError):
            await _refuse(websocket, _for_the_auth_frame(refusal), BAD_AUTH_FRAME)
        else:
            await _refuse(websocket, refusal, 4403)
        return
    expires_in = float(claims.raw.get("exp", time.time() + 3600)) - time.time()
    open_sockets = _open_sockets(websocket)
    user = str(claims.raw.get("sub"))
    if open_sockets.get(user, 0) >= CONNECTIONS_PER_USER:
        await websocket.send_json(
            {"type": "error", "code": "too_many_connections", "message": f"at most {CONNECTIONS_PER_USER} per user"}
        )
        await websocket.close(4429)
        return
    open_sockets[user] = open_sockets.get(user, 0) + 1
    try:
        async with event_hub(websocket).subscribe(tenant_id) as queue:
            await websocket.send_json({"type": "ready", "tenant_id": str(tenant_id)})
            forward = asyncio.create_task(_forward(websocket, queue))
            listen = asyncio.create_task(_drain(websocket))
            member = asyncio.create_task(_while_member(services, claims.raw, tenant_id, membership))
            done, pending = await asyncio.wait(
                {forward, listen, member}, timeout=max(expires_in, 0), return_when="FIRST_COMPLETED"
            )
            for task in pending:
                task.cancel()
            if not done or member in done:
                code, close = ("token_expired", 4401) if not done else ("membership_revoked", 4403)
                with contextlib.suppress(Exception):
                    await websocket.send_json({"type": "error", "code": code, "message": "reconnect"})
                    await websocket.close(close)
    finally:
        open_sockets[user] -= 1


def _open_sockets(websocket: WebSocket) -> dict[str, int]:
    """This replica's open event sockets per user."""
    state = websocket.app.state
    counts: dict[str, int] | None = getattr(state, "event_sockets", None)
    if counts is None:
        counts = state.event_sockets = {}
    return counts


async def _refuse(websocket: WebSocket, refusal: DomainError, close: int) -> None:
    frame = {"type": "error", "code": refusal.code, "message": refusal.message}
    if refusal.details is not None:
        frame["details"] = refusal.details
    await websocket.send_json(frame)
    await websocket.close(close)


def _chosen_tenant(tenant: object) -> UUID | None:
    """The tenant the auth frame names; checked after the token, so a malformed one is the client's to fix (4400),
    not a reason to re-authenticate."""
    if tenant is None or tenant == "":
        return None
    if not isinstance(tenant, str):
        raise InvalidInputError(f"tenant_id must be a UUID string, got {tenant!r}", code="invalid_tenant_id")
    try:
        return UUID(tenant)
    except ValueError as exc:
        raise InvalidInputError(f"tenant_id must be a UUID, got {tenant!r}", code="invalid_tenant_id") from exc


def _for_the_auth_frame(refusal: InvalidInputError) -> InvalidInputError:
    """The database's tenant_required names the X-Tenant-Id header, which a browser WebSocket cannot send."""
    if refusal.code != "tenant_required" or not isinstance(refusal.details, dict):
        return refusal
    tenants = ", ".join(refusal.details.get("tenants", []))
    return InvalidInputError(
        f"you belong to several tenants ({tenants}): send one as tenant_id in the auth frame",
        code=refusal.code,
        details=refusal.details,
    )


def _unanswered(exc: Exception) -> DatabaseUnavailableError:
    logger.warning("membership check of an event socket failed; closing it as try again later: %r", exc)
    return DatabaseUnavailableError("the database is unavailable; retry shortly")


def _auth_frame(message: Any) -> tuple[str, object]:
    """The token and the tenant as sent in the first frame; any other shape (binary, not JSON, no string token) is
    refused. The tenant is read after the token is verified (``_chosen_tenant``)."""
    if message.get("type") == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    try:
        frame = json.loads(message.get("text") or "")
    # RecursionError: arrays nested deeper than the parser's stack ("[" * 100000), malformed all the same.
    except (ValueError, RecursionError):
        frame = None
    token = frame.get("token") if isinstance(frame, dict) and frame.get("type") == "auth" else None
    tenant = frame.get("tenant_id") if isinstance(frame, dict) else None
    if not isinstance(token, str) or not token:
        raise AuthenticationError("auth_required", 'send {"type": "auth", "token": "...", "tenant_id": "..."} first')
    return token, tenant


async def _while_member(services: Services, claims: Any, tenant_id: UUID, membership: Any) -> None:
    """Returns once the caller is no longer a member of the tenant the socket serves (removed after connecting).
    Checked against that tenant, not the one the first frame named: a user who joins a second tenant meanwhile
    has not left the first. An outage is no reason to drop the socket either: the next check tries again."""
    while True:
        await asyncio.sleep(MEMBERSHIP_RECHECK_S)
        try:
            await services.database.run(claims, tenant_id, membership)
        except PermissionDeniedError:
            return
        except (ServiceUnavailableError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            # Too many connections, a cancelled statement: no answer about membership, so no "revoked" either.
            logger.warning("membership re-check of an event socket failed; trying again: %s", exc)
            continue


async def _forward(websocket: WebSocket, queue: asyncio.Queue[dict[str, Any]]) -> None:
    while True:
        await websocket.send_json(await queue.get())


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, to notice when it goes away."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()
