"""Which routes read JSON numbers exactly, and which numbers stay floats."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from deployments.api.app import create_api
from deployments.api.exact_numbers import ExactNumbersRoute, json_number


def test_every_route_with_a_declared_json_body_reads_numbers_exactly(api_settings):
    # Chat completions declares no body: it reads its own JSON (floats, as OpenAI's API) once membership is known.
    app = create_api(api_settings)
    routes = [r for r in app.routes if isinstance(r, APIRoute)]
    with_body = [r for r in routes if r.body_field is not None]
    float_readers = [r.path for r in with_body if not isinstance(r, ExactNumbersRoute)]
    assert len(with_body) > 20
    assert float_readers == []
    (chat,) = [r for r in routes if r.path == "/api/v1/ai/llm/chat/completions"]
    assert chat.body_field is None


def test_a_number_written_with_more_digits_than_a_float_keeps_them():
    assert json_number("12345678901234.5678") == Decimal("12345678901234.5678")


def test_a_number_past_a_floats_exponents_is_read_as_a_float_and_refused_at_once():
    # As a Decimal, 1e10000000 took pydantic seconds of CPU to turn into an int before a bound refused it.
    class Page(BaseModel):
        limit: int

    started = time.monotonic()
    number = json_number("1e10000000")
    with pytest.raises(ValidationError, match="finite_number"):
        Page.model_validate({"limit": number})
    assert number == float("inf")
    assert time.monotonic() - started < 1


def test_a_number_of_a_million_digits_is_read_as_a_float():
    assert json_number("1" * 1_000_000 + ".5") == float("1" * 1_000_000 + ".5")
