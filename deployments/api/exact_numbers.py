"""JSON request bodies with their non-integer numbers as Decimals, so a quantity arrives with every digit sent.

``json.loads`` reads 12345678901234.5678 as the float 12345678901234.568; the Decimal fields (quantities up to 18
digits, prices) then stored that, and an Idempotency-Key's body compared as such (.5678 and .5677 were one body).
Float and integer fields take a Decimal as they took the float (pydantic converts it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

# A longer literal, or one past a float's exponents, stays a float, as before: pydantic turning 1e10000000 or a
# million digits into an int takes seconds to minutes of CPU, and a float read them in no time (inf, rounded).
MAX_EXACT_CHARS = 64
MAX_EXACT_EXPONENT = 308


def json_number(literal: str) -> Decimal | float:
    """A non-integer JSON number: a Decimal with every digit where it is a plausible figure, else a float."""
    if len(literal) <= MAX_EXACT_CHARS:
        try:
            number = Decimal(literal)
        except InvalidOperation:  # an exponent past any Decimal's
            return float(literal)
        if abs(number.adjusted()) <= MAX_EXACT_EXPONENT:
            return number
    return float(literal)


class ExactNumbersRequest(Request):
    async def json(self) -> Any:
        # Invalid JSON raises json.JSONDecodeError as before: the malformed_json answer is unchanged.
        if not hasattr(self, "_json"):
            self._json = json.loads(await self.body(), parse_float=json_number)
        return self._json


class ExactNumbersRoute(APIRoute):
    """A route whose JSON body is read by ``ExactNumbersRequest``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def exact_numbers_handler(request: Request) -> Response:
            return await handler(ExactNumbersRequest(request.scope, request.receive))

        return exact_numbers_handler


class ExactNumbersRouter(APIRouter):
    """Every route added to it, its own or one of an included router (which would keep its own route class), is an
    ``ExactNumbersRoute`` (``route_class``, which may add to it): the routers of deployments/api/routes need not each
    remember to ask for it."""

    def __init__(self, *, route_class: type[ExactNumbersRoute] = ExactNumbersRoute, **options: Any) -> None:
        super().__init__(route_class=route_class, **options)

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        super().add_api_route(path, endpoint, **{**options, "route_class_override": self.route_class})
