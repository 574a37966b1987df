"""Calls to the model deployments through their handles, with their domain errors kept as themselves."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from common.errors import DomainError

if TYPE_CHECKING:
    from deployments.api.deps import Caller, ModelHandles


def domain_cause(exc: BaseException) -> DomainError | None:
    """The domain error behind a handle call's failure, if that is what it was.

    Ray raises a RayTaskError that also subclasses the original class but carries the class's default code;
    the original exception, with its code, message and details, is its ``cause``."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, DomainError) else None


async def unwrap(awaitable: Any) -> Any:
    """Await a handle call, re-raising a domain error from the other replica as itself (so it maps to 4xx)."""
    try:
        return await awaitable
    except Exception as exc:
        cause = domain_cause(exc)
        if cause is not None:
            raise cause from None
        raise


async def call_for(caller: Caller, handles: ModelHandles, deployment: str, method: str, *args: Any) -> Any:
    """``method`` of a model deployment for the caller: it gets the caller's token and requested tenant first
    (the deployment opens the caller's own transaction), and its domain errors come back as themselves."""
    handle = getattr(handles.require(deployment), method)
    return await unwrap(handle.remote(caller.claims.raw, caller.requested_tenant, *args))
