"""Run a stock-changing POST at most once per Idempotency-Key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from common.database import TenantTransaction
from deployments.api.deps import Caller, CallerDep
from inventory import idempotency
from inventory.idempotency import StoredResponse

REPLAY_HEADER = "Idempotent-Replayed"

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Retry-safe key: the same key and body are applied once and the first response replayed",
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
        if key is not None:
            stored = await idempotency.claim(tx.conn, tx.tenant_id, tx.user_id, key, request_fingerprint)
            if stored is not None:
                return stored, True
        result = await operation(tx)
        response = StoredResponse(status_code, result.model_dump(mode="json"))
        if key is not None:
            await idempotency.store(tx.conn, tx.tenant_id, tx.user_id, key, response)
        return response, False

    response, replayed = await caller.run(op, write=True)
    headers: dict[str, Any] = {REPLAY_HEADER: "true"} if replayed else {}
    return JSONResponse(response.body, status_code=response.status_code, headers=headers)


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
