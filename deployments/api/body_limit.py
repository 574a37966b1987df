"""Request body limits, enforced before any route (and so before authentication) reads the body.

A pure ASGI middleware: a declared ``Content-Length`` over the limit is refused without reading a byte,
and a body without one (chunked) is counted as it streams and refused the moment it passes the limit.
Upload routes get a larger limit, but only for a caller whose bearer token verifies: an anonymous
caller can never make the server read more than the small default.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.auth import AuthenticationError, AuthUnavailableError
from common.config import Settings

# Room for the multipart framing and form fields around an uploaded file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def install_body_limits(app: FastAPI, settings: Settings, api_prefix: str) -> None:
    """The global limit, and larger ones for the routes that take files (for callers whose token verifies)."""
    uploads = {
        ("POST", f"{api_prefix}/ai/copilot/documents"): settings.copilot_max_upload_bytes + MULTIPART_OVERHEAD_BYTES,
        ("POST", f"{api_prefix}/ai/risk/history/import"): settings.risk_import_max_bytes + MULTIPART_OVERHEAD_BYTES,
    }
    app.add_middleware(BodyLimitMiddleware, default_limit=settings.api_max_body_bytes, upload_limits=uploads)


class _BodyTooLarge(Exception):
    """Raised from ``receive`` inside the app; never a DomainError, so no handler turns it into a response."""


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, default_limit: int, upload_limits: Mapping[tuple[str, str], int]) -> None:
        self.app = app
        self.default_limit = default_limit
        self.upload_limits = dict(upload_limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.default_limit
        upload_limit = self.upload_limits.get((scope["method"], scope["path"]))
        if upload_limit is not None:
            problem = await _token_problem(scope)
            if isinstance(problem, AuthUnavailableError):
                retry_after = str(problem.details["retry_after_s"])
                await _send_json(send, 503, problem.code, problem.message, details=problem.details, retry=retry_after)
                return
            if problem is not None:
                await _send_json(send, 401, problem.code, problem.message, bearer=problem.code)
                return
            limit = max(limit, upload_limit)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _send_too_large(send, limit)
            return

        received = 0
        refused = False
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if refused:  # whatever the app makes of the interrupted read, the answer is 413
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _BodyTooLarge:
            pass
        except Exception:
            if not refused:
                raise
        if refused and not response_started:
            await _send_too_large(send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _token_problem(scope: Scope) -> AuthenticationError | AuthUnavailableError | None:
    """Why the request's bearer token does not verify (or cannot be verified now), or None when it does."""
    header = next((v for n, v in scope.get("headers", ()) if n == b"authorization"), b"").decode("latin-1")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return AuthenticationError("missing_token", "upload routes need an Authorization: Bearer <access token> header")
    app: Any = scope.get("app")
    try:
        await app.state.services.verifier.verify(token.strip())
    except (AuthenticationError, AuthUnavailableError) as exc:
        return exc
    return None


async def _send_too_large(send: Send, limit: int) -> None:
    await _send_json(
        send,
        413,
        "payload_too_large",
        f"the request body exceeds the limit of {limit} bytes",
        details={"max_bytes": limit},
    )


async def _send_json(
    send: Send,
    status: int,
    code: str,
    message: str,
    *,
    details: Any = None,
    bearer: str | None = None,
    retry: str | None = None,
) -> None:
    body = json.dumps({"code": code, "message": message, "details": details}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    # No "Connection: close": closing with the client's body still unread makes the kernel send a reset, and a
    # proxy in front (HAProxy) that receives it can drop the answer's body it has not yet passed on (seen:
    # headers arrived, body lost). Kept open, the server discards the rest of the body without buffering it.
    if bearer is not None:
        headers.append((b"www-authenticate", f'Bearer error="invalid_token", error_description="{bearer}"'.encode()))
    if retry is not None:
        headers.append((b"retry-after", retry.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
