"""Errors coming back from a model deployment's handle (``unwrap``): built as Ray builds them, no cluster needed."""

from __future__ import annotations

import asyncpg
import pytest
from ray.exceptions import RayTaskError

from common.errors import NotFoundError
from deployments.api.model_calls import unwrap


def from_replica(cause: Exception) -> Exception:
    """What a handle call raises when the replica raised ``cause``: a RayTaskError that subclasses its class."""
    return RayTaskError("CopilotService.ask", "Traceback (most recent call last): ...", cause).as_instanceof_cause()


async def failing(error: Exception) -> None:
    raise error


async def test_a_domain_error_comes_back_as_itself():
    with pytest.raises(NotFoundError) as raised:
        await unwrap(failing(from_replica(NotFoundError("conversation x not found", code="unknown_conversation"))))
    assert type(raised.value) is NotFoundError and raised.value.code == "unknown_conversation"


async def test_a_value_the_database_refused_comes_back_without_the_replicas_traceback():
    refused = asyncpg.exceptions.CharacterNotInRepertoireError('invalid byte sequence for encoding "UTF8": 0x00')
    with pytest.raises(asyncpg.DataError) as raised:
        await unwrap(failing(from_replica(refused)))
    assert raised.value is refused and "Traceback" not in str(raised.value)


async def test_any_other_failure_stays_a_server_error():
    with pytest.raises(RayTaskError):
        await unwrap(failing(from_replica(RuntimeError("the LLM failed"))))
