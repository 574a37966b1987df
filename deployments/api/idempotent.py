"""Run a write of stock or documents at most once per Idempotency-Key, and replay its first answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from common.database import TenantTransaction
from common.errors import DomainError, NumberTakenMeanwhileError
from deployments.api.deps import Caller, CallerDep
from deployments.api.errors import error_body, status_for
from inventory import idempotency
from inventory.idempotency import StoredResponse

REPLAY_HEADER = "Idempotent-Replayed"

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description=(
            "Retry-safe key: the same key and body are applied once and the first response replayed, a 400, 404 "
            "or 409 refusal included; a 422, 403, 429, 5xx or a conflict with work in progress is not kept"
        ),
    ),
]


async def run_idempotent(
    request: Request,
    caller: Caller,
    key: str | None,
    payload: BaseModel | None,
    operation: Callable[[TenantTransaction], Awaitable[BaseModel]],
    *,
    status_code: int,
) -> JSONResponse:
    # The body as parsed, numbers exact: its JSON form writes quantities as floats, which made 12345678901234.5678
    # and .5677 one fingerprint (the second was replayed, never applied).
    request_fingerprint = idempotency.fingerprint(
        request.method, request.url.path, payload.model_dump(mode="python") if payload is not None else None
    )

    async def op(tx: TenantTransaction) -> tuple[StoredResponse, bool]:
        if key is None:
            return StoredResponse(status_code, (await operation(tx)).model_dump(mode="json")), False
        stored = await idempotency.claim(tx.conn, tx.tenant_id, tx.user_id, key, request_fingerprint)
        if stored is not None:
            return stored, True
        try:
            # A savepoint: a refusal undoes the operation's writes but not the key's claim, so the refusal is kept
            # under the key in this transaction and a duplicate waiting on the key replays it too.
            async with tx.conn.transaction():
                result = await operation(tx)
        except DomainError as error:
            refusal = kept_refusal(error)
            if refusal is None:
                raise
            response = refusal
        else:
            response = StoredResponse(status_code, result.model_dump(mode="json"))
        await idempotency.store(tx.conn, tx.tenant_id, tx.user_id, key, response)
        return response, False

    response, replayed = await caller.run(op, write=True)
    headers: dict[str, Any] = {REPLAY_HEADER: "true"} if replayed else {}
    return JSONResponse(response.body, status_code=response.status_code, headers=headers)


# Refusals of the request as sent, against the state it met (short stock, a closed timeline, no such order): a
# retry of the same request is refused the same way or, once the state changed, would apply what the client was
# told had been refused. Stripe keeps these too. A 422 never began executing, a 403 or a 429 is the caller's
# standing of the moment, a 5xx the server's: a retry with the key may get past them, so they are not kept.
_KEPT_STATUSES = frozenset({400, 404, 409})


def kept_refusal(error: DomainError) -> StoredResponse | None:
    """The answer to keep under the key for ``error``, or None where a retry with the key must run again."""
    status = status_for(error)
    if status not in _KEPT_STATUSES:
        return None
    # A conflict with work in flight (a push or sync under way, a number taken by a concurrent write, which
    # Database.run retries) passes once that work ends: refusing the retry for good would be wrong.
    if isinstance(error, NumberTakenMeanwhileError) or error.code.endswith("_in_progress"):
        return None
    return StoredResponse(status, error_body(error.code, error.message, error.details))


@dataclass(frozen=True)
class IdempotentWrite:
    """What a retry-safe write needs, injected as one: the request, its caller and its Idempotency-Key."""

    request: Request
    caller: Caller
    key: str | None

    async def run(
        self,
        payload: BaseModel | None,
        operation: Callable[[TenantTransaction], Awaitable[BaseModel]],
        *,
        status_code: int,
    ) -> JSONResponse:
        return await run_idempotent(self.request, self.caller, self.key, payload, operation, status_code=status_code)


def idempotent_write(request: Request, caller: CallerDep, idempotency_key: IdempotencyKey = None) -> IdempotentWrite:
    return IdempotentWrite(request, caller, idempotency_key)


IdempotentDep = Annotated[IdempotentWrite, Depends(idempotent_write)]
