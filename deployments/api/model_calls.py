"""Calls to the model deployments through their handles, keeping the errors a caller's input caused as they are."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import asyncpg

from common.errors import DomainError

if TYPE_CHECKING:
    from deployments.api.deps import Caller, ModelHandles


def client_cause(exc: BaseException) -> DomainError | asyncpg.DataError | None:
    """The error behind a handle call's failure when the caller's input caused it: a domain error, or a value
    the database refused (a NUL character in a text, a number out of a column's range).

    The RayTaskError around it also subclasses the original class, so the ingress's handlers would catch it,
    but its text is Ray's: the other replica's traceback, process id and address, which a client must not see."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, (DomainError, asyncpg.DataError)) else None


async def unwrap(awaitable: Any) -> Any:
    """Await a handle call, re-raising the input's error from the other replica as itself (so it maps to 4xx
    with its own message)."""
    try:
        return await awaitable
    except Exception as exc:
        cause = client_cause(exc)
        if cause is not None:
            raise cause from None
        raise


async def call_for(caller: Caller, handles: ModelHandles, deployment: str, method: str, *args: Any) -> Any:
    """``method`` of a model deployment for the caller: it gets the caller's token and requested tenant first
    (the deployment opens the caller's own transaction), and its domain errors come back as themselves."""
    handle = getattr(handles.require(deployment), method)
    return await unwrap(handle.remote(caller.claims.raw, caller.requested_tenant, *args))
