"""The events WebSocket against hostile clients: in-process app (Starlette's test client) over the real database.

These run without Serve: the socket's rules live in the route, and the Serve session is paid by other files.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import asynccontextmanager
from types import SimpleNamespace

import asyncpg
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from common.errors import PermissionDeniedError, PoolExhaustedError
from deployments.api import event_hub
from deployments.api.app import create_api
from deployments.api.event_hub import EventHub
from deployments.api.routes import live


@pytest.fixture
def client(settings):
    with TestClient(create_api(settings)) as test_client:
        yield test_client


def auth(tenant, user=None) -> str:
    return json.dumps({"type": "auth", "token": tenant.token(user)})


@pytest.mark.parametrize(
    "frame",
    [
        b"\x00\x01binary",
        "not json",
        '{"type": "auth", "token": 5}',
        '{"type": "auth", "token": "x", "tenant_id": 7}',
        "[]",
        "[" * 100_000 + "]" * 100_000,
    ],
    ids=["binary", "not-json", "token-not-a-string", "tenant-not-a-string", "not-an-object", "nested-too-deep"],
)
def test_a_malformed_auth_frame_closes_cleanly_with_4401(client, frame):
    with client.websocket_connect("/api/v1/events") as socket:
        socket.send_bytes(frame) if isinstance(frame, bytes) else socket.send_text(frame)
        assert socket.receive_json()["code"] in ("auth_required", "invalid_token", "malformed_token", "decode_error")
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
        assert closed.value.code == 4401


@pytest.mark.parametrize("origin", ["https://evil.example", "http://[::1"], ids=["another-origin", "unparsable"])
def test_a_handshake_from_an_origin_not_allowed_is_refused_with_1008(client, origin):
    # Until 2026-12-07 an Origin no URL parser reads was a 500.
    handshake = client.websocket_connect("/api/v1/events", headers={"Origin": origin})
    with pytest.raises(WebSocketDisconnect) as refused, handshake:
        pass
    assert refused.value.code == 1008


async def test_a_user_may_hold_only_a_few_sockets(client, make_tenant):
    tenant = await make_tenant()
    sockets = [client.websocket_connect("/api/v1/events") for _ in range(live.CONNECTIONS_PER_USER + 1)]
    opened = []
    try:
        for socket in sockets[:-1]:
            opened.append(socket.__enter__())
            opened[-1].send_text(auth(tenant))
            assert opened[-1].receive_json()["type"] == "ready"
        extra = sockets[-1].__enter__()
        opened.append(extra)
        extra.send_text(auth(tenant))
        assert extra.receive_json()["code"] == "too_many_connections"
        with pytest.raises(WebSocketDisconnect) as closed:
            extra.receive_json()
        assert closed.value.code == 4429
    finally:
        for socket in sockets[: len(opened)]:
            socket.__exit__(None, None, None)


async def test_a_member_removed_after_connecting_is_disconnected(client, make_tenant, owner_pool, monkeypatch):
    monkeypatch.setattr(live, "MEMBERSHIP_RECHECK_S", 0.3)
    tenant = await make_tenant()
    with client.websocket_connect("/api/v1/events") as socket:
        socket.send_text(auth(tenant, tenant.viewer))
        assert socket.receive_json()["type"] == "ready"
        await owner_pool.execute(
            "DELETE FROM app.members WHERE tenant_id = $1 AND user_id = $2", tenant.id, tenant.viewer
        )
        assert socket.receive_json()["code"] == "membership_revoked"
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
        assert closed.value.code == 4403


async def test_joining_a_second_tenant_while_connected_keeps_the_socket(client, make_tenant, owner_pool, monkeypatch):
    # Connected without naming a tenant (it had one), the recheck named none either: once the user joined a
    # second tenant it could not choose, and the socket closed as "membership_revoked".
    monkeypatch.setattr(live, "MEMBERSHIP_RECHECK_S", 0.3)
    tenant, other = await make_tenant(), await make_tenant()
    with client.websocket_connect("/api/v1/events") as socket:
        socket.send_text(auth(tenant, tenant.viewer))
        assert socket.receive_json()["type"] == "ready"
        await owner_pool.execute(
            "INSERT INTO app.members (tenant_id, user_id, role) VALUES ($1, $2, 'viewer')", other.id, tenant.viewer
        )
        await asyncio.sleep(1.0)  # three rechecks
        await owner_pool.execute(
            "INSERT INTO app.stock_movements (tenant_id, product_id, warehouse_id, movement_type, quantity) "
            "VALUES ($1, $2, $3, 'receipt', 1)",
            tenant.id,
            tenant.products[0],
            tenant.warehouses[0],
        )
        assert socket.receive_json()["type"] == "stock.changed"


async def test_a_database_error_while_rechecking_membership_is_no_revocation(monkeypatch):
    # Before, too many connections (or a cancelled statement) at a re-check closed the socket with 4403
    # "membership_revoked", which tells a client not to reconnect.
    monkeypatch.setattr(live, "MEMBERSHIP_RECHECK_S", 0)
    answers: list[Exception | None] = [asyncpg.TooManyConnectionsError("too many clients"), None]
    answers.append(PermissionDeniedError("no longer a member"))

    async def run(claims, tenant, operation):
        answer = answers.pop(0)
        if answer is not None:
            raise answer

    services = SimpleNamespace(database=SimpleNamespace(run=run))
    await asyncio.wait_for(live._while_member(services, {}, uuid.uuid4(), None), timeout=5)
    assert answers == []  # it went on after the error and returned only once membership was really gone


async def test_the_hub_listens_again_after_its_connection_is_lost_and_tells_its_sockets(
    database_url, owner_pool, make_tenant
):
    # Before, a database restart left every open socket open and silent until a new one subscribed on the replica.
    tenant = await make_tenant()
    hub = EventHub(database_url)
    try:
        async with hub.subscribe(tenant.id) as queue:
            await owner_pool.execute("SELECT pg_terminate_backend($1)", hub._conn.get_server_pid())
            assert (await asyncio.wait_for(queue.get(), timeout=10))["type"] == "resync"
            payload = json.dumps({"tenant_id": str(tenant.id), "type": "stock.changed"})
            await owner_pool.execute("SELECT pg_notify('chainsight_events', $1)", payload)
            assert (await asyncio.wait_for(queue.get(), timeout=10))["type"] == "stock.changed"
    finally:
        await hub.close()


@pytest.fixture
async def subscription(database_url, monkeypatch):
    """One tenant's subscription to a fresh hub whose queues hold only 2 events."""
    monkeypatch.setattr(event_hub, "QUEUE_SIZE", 2)
    tenant_id = uuid.uuid4()
    hub = EventHub(database_url)
    try:
        async with hub.subscribe(tenant_id) as queue:
            yield SimpleNamespace(hub=hub, tenant_id=tenant_id, queue=queue)
    finally:
        await hub.close()


def deliver_stock_changes(subscription, count: int) -> None:
    """Hand the hub `count` stock.changed notifications for the tenant, as its LISTEN connection would."""
    for i in range(count):
        payload = json.dumps({"tenant_id": str(subscription.tenant_id), "type": "stock.changed", "data": {"i": i}})
        subscription.hub._deliver(None, 0, "chainsight_events", payload)


def queued_types(queue: asyncio.Queue) -> list[str]:
    return [queue.get_nowait()["type"] for _ in range(queue.qsize())]


async def test_a_socket_that_falls_behind_is_told_to_resync(subscription):
    # Before, events past a full queue were dropped with only a log line: the dashboard caught up and showed
    # stale figures with nothing telling it so.
    deliver_stock_changes(subscription, 3)
    assert queued_types(subscription.queue) == ["resync"]


async def test_the_resync_after_a_lost_connection_reaches_a_full_queue(subscription, owner_pool):
    # Before, the resync was dropped where the socket's queue was full, so that socket never re-read.
    hub = subscription.hub
    deliver_stock_changes(subscription, 2)
    await owner_pool.execute("SELECT pg_terminate_backend($1)", hub._conn.get_server_pid())
    for _ in range(100):
        if hub._relisten_task is not None and hub._relisten_task.done():
            break
        await asyncio.sleep(0.1)
    assert queued_types(subscription.queue) == ["resync"]


def assert_closes_as_retry_later(client, tenant, code: str) -> None:
    """The tenant's auth frame is answered with an error frame of ``code``, then a close with 1013 (try again later)."""
    with client.websocket_connect("/api/v1/events") as socket:
        socket.send_text(auth(tenant))
        assert socket.receive_json()["code"] == code
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
        assert closed.value.code == 1013


async def test_a_database_too_busy_to_check_membership_closes_as_retry_later(client, make_tenant, monkeypatch):
    # Before, a pool exhausted (or the database away) at connect closed with 4403, which tells a client it is not a
    # member and not to reconnect.
    tenant = await make_tenant()

    async def busy(claims, tenant_id, operation):
        raise PoolExhaustedError("every connection stayed busy")

    monkeypatch.setattr(client.app.state.services.database, "run", busy)
    assert_closes_as_retry_later(client, tenant, "database_busy")


@pytest.mark.parametrize(
    ("error", "at_commit"),
    [
        (asyncpg.TooManyConnectionsError("sorry, too many clients already"), False),
        (asyncpg.DeadlockDetectedError("deadlock detected"), False),
        (asyncpg.LockNotAvailableError("canceling statement due to lock timeout"), False),
        (TimeoutError("timed out"), True),
    ],
    ids=["too-many-connections", "deadlock-after-retries", "lock-timeout", "socket-timeout-at-commit"],
)
async def test_a_database_error_of_the_membership_check_closes_as_retry_later(
    client, make_tenant, monkeypatch, error, at_commit
):
    # Before, Database.run's errors other than a lost connection or an exhausted pool escaped the route: the socket
    # closed with 1011 (internal error) and no frame, and a client did not know to reconnect. The error comes from
    # the tenant transaction, so Database.run's own retries and mapping are part of what is checked.
    tenant = await make_tenant()

    @asynccontextmanager
    async def failing(claims, requested_tenant):
        if not at_commit:
            raise error
        yield SimpleNamespace(tenant_id=tenant.id)
        raise error

    monkeypatch.setattr(client.app.state.services.database, "tenant_transaction", failing)
    assert_closes_as_retry_later(client, tenant, "database_unavailable")


async def test_a_bug_in_the_membership_check_is_not_closed_as_retry_later(client, make_tenant, monkeypatch):
    tenant = await make_tenant()

    async def broken(claims, tenant_id, operation):
        raise TypeError("membership() takes 1 positional argument but 2 were given")

    monkeypatch.setattr(client.app.state.services.database, "run", broken)
    # It leaves the route (the ASGI server logs it and closes with 1011): no frame, no 1013 for a client to retry on.
    with pytest.raises(TypeError, match="positional argument"), client.websocket_connect("/api/v1/events") as socket:
        socket.send_text(auth(tenant))
        socket.receive_json()
