"""Unhandled errors reach Sentry's ingest endpoint (a loopback server speaking the envelope protocol)."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import sentry_sdk
from fastapi import FastAPI

from common.config import Settings
from common.error_reporting import init_error_reporting
from deployments.api.errors import install_error_handlers


class SentryIngest:
    """Accepts POST /api/<project>/envelope/ like Sentry's relay and keeps the raw envelopes."""

    def __init__(self) -> None:
        self.envelopes: list[bytes] = []
        ingest = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path.endswith("/envelope/"):
                    ingest.envelopes.append(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.dsn = f"http://publickey@127.0.0.1:{self._server.server_address[1]}/42"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def ingest() -> Iterator[SentryIngest]:
    server = SentryIngest()
    yield server
    sentry_sdk.init(dsn=None)  # leave no client behind for other tests
    server.stop()


def test_error_reporting_is_off_without_a_dsn():
    assert init_error_reporting(Settings(_env_file=None, environment="test")) is False  # type: ignore[call-arg]


async def test_an_unhandled_error_is_answered_500_and_reported(ingest: SentryIngest):
    settings = Settings(_env_file=None, environment="test", sentry_dsn=ingest.dsn)  # type: ignore[call-arg]
    assert init_error_reporting(settings) is True
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise ZeroDivisionError("planted failure for the reporting test")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    sentry_sdk.flush(timeout=10)
    assert any(b"planted failure for the reporting test" in envelope for envelope in ingest.envelopes)


async def test_a_reported_error_carries_neither_the_request_body_nor_the_callers_token(ingest: SentryIngest):
    # Before, Sentry's own FastAPI integration attached the JSON body and every frame's local variables (the ASGI
    # scope with its Authorization header) to the report: the body 5 times and the token 29 times.
    settings = Settings(_env_file=None, environment="test", sentry_dsn=ingest.dsn)  # type: ignore[call-arg]
    init_error_reporting(settings)
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/boom")
    async def boom(body: dict[str, Any]) -> None:
        raise ZeroDivisionError("planted failure for the privacy test")

    # Built from pieces: Sentry also ships the source lines around the failing one.
    secret, token = "-".join(["client", "secret", "4711"]), ".".join(["eyJhbGciOi", "payload", "signature"])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post(
            "/boom", json={"nested": {"value": secret}}, headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 500
    sentry_sdk.flush(timeout=10)
    sent = b"".join(ingest.envelopes)
    assert b"planted failure for the privacy test" in sent
    assert secret.encode() not in sent and token.encode() not in sent
