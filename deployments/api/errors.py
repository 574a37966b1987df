"""One JSON error shape for every failure: ``{"code", "message", "details"}``, never a 200."""

from __future__ import annotations

import logging
from typing import Any, get_args

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from pydantic_core.core_schema import ErrorType
from starlette.exceptions import HTTPException as StarletteHTTPException

from common.auth import AuthenticationError
from common.database import CONNECTION_LOST
from common.error_reporting import report_error
from common.errors import (
    ConflictError,
    DomainError,
    ExpiredValueError,
    IdempotencyMismatchError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitedError,
    ServiceUnavailableError,
    UnsupportedMediaError,
)
from deployments.api.choice_errors import plain_error

logger = logging.getLogger(__name__)

_STATUS_BY_ERROR: list[tuple[type[DomainError], int]] = [
    (NotFoundError, 404),
    (ConflictError, 409),
    (PermissionDeniedError, 403),
    (ServiceUnavailableError, 503),
    (IdempotencyMismatchError, 422),
    (ExpiredValueError, 422),
    (UnsupportedMediaError, 415),
    (PayloadTooLargeError, 413),
    (RateLimitedError, 429),
    (InvalidInputError, 400),
]


class ErrorBody(BaseModel):
    """What every 4xx and 5xx answer carries."""

    code: str = Field(description="machine-readable: not_found, validation_error, too_many_exports, ...")
    message: str = Field(description="for people: what was wrong and, where it helps, how to fix it")
    details: Any = Field(default=None, description="structured context: the offending fields, limits, ids")


# Documented on every /api/v1 operation, so clients generated from the schema know the error answers.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in [
        (400, "malformed input: invalid JSON, an unknown filter, data the models cannot use"),
        (401, "missing, expired or invalid bearer token"),
        (403, "the caller's role does not allow this"),
        (404, "no such resource in the caller's tenant"),
        (409, "conflicts with the current state (stock, status, a reused key)"),
        (413, "the request body exceeds its limit"),
        (415, "an upload of a media or file type this route does not take"),
        (422, "a field fails validation"),
        (429, "a rate or concurrency limit; Retry-After says when to retry"),
        (503, "the database, token verification or a model deployment is unavailable; Retry-After says when"),
    ]
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"code": code, "message": message, "details": details}


def status_for(error: DomainError) -> int:
    for error_type, status in _STATUS_BY_ERROR:
        if isinstance(error, error_type):
            return status
    return 400


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status = status_for(exc)
    retry = exc.details.get("retry_after_s") if isinstance(exc.details, dict) else None
    headers = {"Retry-After": str(retry or 1)} if status == 503 else None
    if status == 429:
        # Rate limits say when a slot frees up; without that, the longest window (a minute).
        headers = {"Retry-After": str(retry or 60)}
    return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=status, headers=headers)


async def _authentication_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AuthenticationError)
    return JSONResponse(
        error_body(exc.code, exc.message),
        status_code=401,
        headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{exc.code}"'},
    )


# A detail type pydantic does not define is one a route raised itself (forecast's invalid_quantiles and
# horizon_out_of_range): the README promises clients that code, which they can act on without parsing messages.
_PYDANTIC_ERROR_TYPES = frozenset(get_args(ErrorType))


def _validation_code(details: list[dict[str, Any]]) -> str:
    types = {detail["type"] for detail in details}
    if len(types) == 1 and (only := types.pop()) and only not in _PYDANTIC_ERROR_TYPES:
        return str(only)
    return "validation_error"


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"location": location, "message": message, "type": err.get("type", "")}
        for err in exc.errors()
        for location, message in [plain_error(err)]
    ]
    if any(d["type"] == "json_invalid" for d in details):
        return JSONResponse(
            error_body("malformed_json", "the request body is not valid JSON", details), status_code=400
        )
    first = details[0] if details else {"location": [], "message": "invalid request"}
    where = ".".join(str(part) for part in first["location"])
    message = f"{where}: {first['message']}" if where else str(first["message"])
    return JSONResponse(error_body(_validation_code(details), message, details), status_code=422)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {401: "unauthenticated", 404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(
        error_body(code, str(exc.detail)), status_code=exc.status_code, headers=getattr(exc, "headers", None)
    )


def client_error_fields(error: DomainError | asyncpg.DataError) -> tuple[str, str]:
    """The code and message a client gets for an error its input caused (also where no status line is left)."""
    if isinstance(error, DomainError):
        return error.code, error.message
    # Values that pass schema validation but not the column type (e.g. numeric overflow, a NUL in a text).
    return "invalid_value", f"the database refused a value: {error}"


async def _data_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, asyncpg.DataError)
    return JSONResponse(error_body(*client_error_fields(exc)), status_code=422)


# The database restarting, failing over or refusing connections: the request may be retried (with
# the same Idempotency-Key for writes, so a write that did commit is not applied twice).
DATABASE_UNAVAILABLE = CONNECTION_LOST


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("database unavailable on %s %s: %r", request.method, request.url.path, exc)
    return JSONResponse(
        error_body("database_unavailable", "the database is unavailable; retry shortly"),
        status_code=503,
        headers={"Retry-After": "1"},
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    report_error(exc)
    return JSONResponse(error_body("internal_error", "an unexpected error occurred"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(AuthenticationError, _authentication_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(asyncpg.DataError, _data_error)
    for error_type in DATABASE_UNAVAILABLE:
        app.add_exception_handler(error_type, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)
