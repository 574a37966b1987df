"""Calls to the model deployments through their handles, with their domain errors kept as themselves."""

from __future__ import annotations

from typing import Any

from common.errors import DomainError


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
