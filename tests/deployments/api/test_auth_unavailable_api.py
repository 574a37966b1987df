"""A JWKS the API cannot reach is the server's problem (503, Retry-After), never the token's (401): clients log
their user out on a 401, and a fresh replica (scale-up, restart) starts with an empty key cache."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from deployments.api.app import create_api
from tests.common.jwks_server import JWKSServer


@pytest.fixture
async def jwks_down_api(api_settings) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """An in-process API whose JWKS answers 503 with an upstream body, and that JWKS's URL."""
    dead = JWKSServer()
    dead.status, dead.body = 503, b"upstream connect error: backend-7 refused"
    app = create_api(api_settings.model_copy(update={"supabase_jwks_url": dead.url}))
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api", timeout=30.0) as client:
                yield client, dead.url
    finally:
        dead.stop()


def es256_token(signing_keys, user) -> str:
    return signing_keys["ES256"].sign({"sub": str(user), "aud": "authenticated", "exp": int(time.time()) + 300})


def assert_auth_unavailable(response: httpx.Response, jwks_url: str) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "auth_unavailable"
    assert int(response.headers["Retry-After"]) >= 1
    assert "www-authenticate" not in response.headers
    # Before, the body carried the JWKS URL and the upstream's answer.
    assert jwks_url not in response.text and "127.0.0.1" not in response.text and "backend-7" not in response.text


async def test_a_valid_token_while_the_jwks_is_down_gets_503_not_401(jwks_down_api, make_tenant, signing_keys):
    client, jwks_url = jwks_down_api
    tenant = await make_tenant()
    token = es256_token(signing_keys, tenant.planner)
    response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert_auth_unavailable(response, jwks_url)


async def test_an_upload_while_the_jwks_is_down_gets_503_not_401(jwks_down_api, make_tenant, signing_keys):
    # Upload routes check the token in the body-limit middleware, before any route runs.
    client, jwks_url = jwks_down_api
    tenant = await make_tenant()
    response = await client.post(
        "/api/v1/ai/copilot/documents",
        headers={"Authorization": f"Bearer {es256_token(signing_keys, tenant.planner)}"},
        files={"file": ("a.txt", b"hello", "text/plain")},
    )
    assert_auth_unavailable(response, jwks_url)


async def test_an_hs256_token_is_still_verified_while_the_jwks_is_down(jwks_down_api, make_tenant):
    client, _ = jwks_down_api
    tenant = await make_tenant()
    response = await client.get("/api/v1/me", headers=tenant.headers())
    assert response.status_code == 200
