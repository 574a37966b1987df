"""GET routes refuse a query parameter they do not take, with 400 ``unknown_parameter`` naming it.

FastAPI drops a query parameter the route does not declare: a misspelt filter (``?warehose_id=``) was answered
unfiltered, and the client took the answer for filtered. What a route takes is read from its own declaration (its
parameters and its dependencies', and the ``openapi_extra`` query parameters a list route reads itself), so the
check and the OpenAPI document cannot disagree, and a new route needs nothing to get it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Coroutine
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.dependencies.utils import get_flat_dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from common.errors import InvalidInputError

EndpointT = TypeVar("EndpointT", bound=Callable[..., Any])
_CHECKS_OWN_QUERY = "__checks_own_query__"


def checks_own_query(endpoint: EndpointT) -> EndpointT:
    """Mark a GET endpoint that takes parameters depending on a path value and refuses the rest itself
    (an export takes its dataset's filters): the declaration-based check leaves it to the endpoint."""
    setattr(endpoint, _CHECKS_OWN_QUERY, True)
    return endpoint


def unknown_parameters(unknown: Collection[str], accepted: Collection[str]) -> InvalidInputError:
    """The 400 for query parameters a route does not take: the message and ``details`` name them and list the
    parameters it does take."""
    names = sorted(unknown)
    taken = sorted(accepted)
    noun = "parameter" if len(names) == 1 else "parameters"
    return InvalidInputError(
        f"unknown query {noun} {', '.join(repr(n) for n in names)}; accepted here: {', '.join(taken) or 'none'}",
        code="unknown_parameter",
        details={"unknown": names, "accepted": taken},
    )


def accepted_query_names(route: APIRoute) -> frozenset[str]:
    """The query parameters ``route`` declares: its own and its dependencies', and those of ``openapi_extra``."""
    names: set[str] = set()
    for field in get_flat_dependant(route.dependant).query_params:
        annotation = field.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):  # a query parameter model
            names.update(info.alias or name for name, info in annotation.model_fields.items())
        else:
            names.add(field.alias)
    extra = (route.openapi_extra or {}).get("parameters", [])
    names.update(p["name"] for p in extra if p.get("in") == "query")
    return frozenset(names)


class KnownQueryRoute(APIRoute):
    """A route whose GET refuses an undeclared query parameter before anything else runs (authentication
    included: what a route takes is in the public OpenAPI document)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if "GET" not in self.methods or getattr(self.endpoint, _CHECKS_OWN_QUERY, False):
            return handler
        accepted = accepted_query_names(self)

        async def known_query_handler(request: Request) -> Response:
            unknown = {name for name in request.query_params if name not in accepted}
            if unknown:
                raise unknown_parameters(unknown, accepted)
            return await handler(request)

        return known_query_handler
