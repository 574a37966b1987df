"""The events WebSocket's answers about the caller's tenant and about a JWKS it cannot reach (in process, real
database): each closes with the code that tells the client what to do next (see deployments/api/routes/live.py)."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from deployments.api.app import create_api
from tests.common.jwks_server import JWKSServer, make_ec_key


@pytest.fixture
def client(settings):
    with TestClient(create_api(settings)) as test_client:
        yield test_client


def answer(client: TestClient, frame: dict) -> tuple[dict, int | None]:
    """The first frame the server answers ``frame`` with, and the close code that follows (None if it stays open)."""
    with client.websocket_connect("/api/v1/events") as socket:
        socket.send_text(json.dumps(frame))
        first = socket.receive_json()
        if first["type"] == "ready":
            return first, None
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
        return first, closed.value.code


async def two_tenants(make_tenant, owner_pool):
    home, second = await make_tenant(), await make_tenant()
    await owner_pool.execute(
        "INSERT INTO app.members (tenant_id, user_id, role) VALUES ($1, $2, 'viewer')", second.id, home.planner
    )
    return home, second


async def test_a_member_of_two_tenants_naming_none_is_told_to_name_one_in_the_auth_frame(
    client, make_tenant, owner_pool
):
    # Before: close 4403 (documented as "not a member": clients stop for good) and "use the X-Tenant-Id header",
    # which a browser WebSocket cannot send.
    home, second = await two_tenants(make_tenant, owner_pool)
    first, close = answer(client, {"type": "auth", "token": home.token(home.planner)})
    assert close == 4400
    assert first["code"] == "tenant_required"
    assert "tenant_id" in first["message"] and "X-Tenant-Id" not in first["message"]
    assert str(home.id) in first["message"] and str(second.id) in first["message"]
    assert sorted(first["details"]["tenants"]) == sorted([str(home.id), str(second.id)])


@pytest.mark.parametrize("tenant_id", ["x", 123, ["a"]], ids=["not-a-uuid", "a-number", "a-list"])
async def test_a_tenant_id_that_is_not_a_uuid_is_a_client_error_not_an_auth_failure(client, make_tenant, tenant_id):
    # Before: auth_required and 4401 ("re-authenticate"), where HTTP answers 400 invalid_tenant_id; a tenant_id that
    # was no string at all stayed 4401 until the review of d482f7c.
    tenant = await make_tenant()
    first, close = answer(client, {"type": "auth", "token": tenant.token(), "tenant_id": tenant_id})
    assert (first["code"], close) == ("invalid_tenant_id", 4400)


async def test_a_stale_hint_connects_to_the_single_membership(client, make_tenant):
    # Before: 4403 "you are not a member of tenant B" for a user whose token still named a tenant they had left.
    home, left = await make_tenant(), await make_tenant()
    first, close = answer(client, {"type": "auth", "token": home.token(home.planner, tenant_id=left.id)})
    assert (first, close) == ({"type": "ready", "tenant_id": str(home.id)}, None)


async def test_a_chosen_tenant_of_a_non_member_still_closes_with_4403(client, make_tenant):
    home, other = await make_tenant(), await make_tenant()
    first, close = answer(client, {"type": "auth", "token": home.token(home.planner), "tenant_id": str(other.id)})
    assert (first["code"], close) == ("forbidden", 4403)


async def test_a_jwks_that_cannot_be_reached_closes_as_retry_later(settings, make_tenant):
    # Before: 4401 "re-authenticate" with the JWKS URL and the upstream's error in the frame.
    tenant = await make_tenant()
    dead = JWKSServer()
    dead.status = 503
    try:
        with TestClient(create_api(settings.model_copy(update={"supabase_jwks_url": dead.url}))) as client:
            token = make_ec_key("ec-socket").sign(
                {"sub": str(tenant.planner), "aud": "authenticated", "exp": int(time.time()) + 300}
            )
            first, close = answer(client, {"type": "auth", "token": token})
    finally:
        dead.stop()
    assert (first["code"], close) == ("auth_unavailable", 1013)
    assert dead.url not in first["message"] and "127.0.0.1" not in first["message"]
