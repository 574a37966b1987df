"""The API's request metrics count the status each client was sent, whichever layer answered; /metrics itself is
served only outside production (Prometheus reads the same series from Ray's metrics port there)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI

from common.config import Environment, Settings
from deployments.api.app import create_api
from tests.common.jwks_server import JWKSServer

UPLOAD = "/api/v1/ai/risk/history/import"


def counted(app: FastAPI, status: int) -> float:
    """Requests the app's prometheus_client registry counted with ``status``, over every method and route."""
    return sum(
        sample.value
        for metric in app.state.http_metrics.registry.collect()
        for sample in metric.samples
        if sample.name == "chainsight_http_requests_total" and sample.labels["status"] == str(status)
    )


async def serve_app(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_api(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api", timeout=30.0) as client:
            yield app, client


@pytest.fixture(scope="module")
async def api(api_settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async for served in serve_app(api_settings):
        yield served


@pytest.fixture
def dead_jwks() -> Iterator[JWKSServer]:
    server = JWKSServer()
    server.status = 503
    yield server
    server.stop()


async def test_a_body_refused_for_its_declared_length_is_counted_as_413(api, api_settings):
    # Before, the body limit answered outside the metrics middleware: the 413 was sent but never counted.
    app, client = api
    before = counted(app, 413)
    body = b"x" * (api_settings.api_max_body_bytes + 1)
    response = await client.post("/api/v1/stock-movements", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert counted(app, 413) == before + 1


async def test_a_chunked_body_refused_as_it_streams_is_counted_as_413_not_400(api, api_settings):
    # Before, the metrics middleware saw the route fail to read the cut-off body and counted a 400.
    app, client = api
    before = {status: counted(app, status) for status in (400, 413)}

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(api_settings.api_max_body_bytes // 65536 + 2):
            yield b"x" * 65536

    response = await client.post("/api/v1/stock-movements", content=chunks(), headers={"content-type": "text/plain"})
    assert response.status_code == 413
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert {status: counted(app, status) for status in (400, 413)} == {400: before[400], 413: before[413] + 1}


async def test_an_upload_without_a_token_is_counted_as_401(api):
    app, client = api
    before = counted(app, 401)
    response = await client.post(UPLOAD, files={"file": ("history.csv", b"supplier_code\n")})
    assert response.status_code == 401
    assert counted(app, 401) == before + 1


async def test_an_upload_while_the_jwks_is_down_is_counted_as_503(api_settings, dead_jwks, make_tenant, signing_keys):
    tenant = await make_tenant()
    claims = {"sub": str(tenant.planner), "aud": "authenticated", "exp": int(time.time()) + 300}
    headers = {"Authorization": f"Bearer {signing_keys['ES256'].sign(claims)}"}
    async for app, client in serve_app(api_settings.model_copy(update={"supabase_jwks_url": dead_jwks.url})):
        response = await client.post(UPLOAD, files={"file": ("history.csv", b"supplier_code\n")}, headers=headers)
        assert response.status_code == 503
        assert counted(app, 503) == 1


async def test_production_does_not_serve_metrics(api_settings):
    # Before, any caller (the public routes forwarded every path) read every route's request counts and latencies.
    app = create_api(api_settings.model_copy(update={"environment": Environment.PRODUCTION}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        assert (await client.get("/metrics")).status_code == 404
