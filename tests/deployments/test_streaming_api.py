"""What Serve must stream, through its port: CSV exports (stalled downloads hold no one else up) and the events
WebSocket (own tenant's events within a second, never another's)."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import time
from decimal import Decimal

import httpx
import websockets

from tests.support.bulk_rows import add_bulk_receipts


async def test_csv_export_streams_through_serve_with_the_list_filters(http, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(5), 1: Decimal(2)})
    response = await http.get(
        "/api/v1/exports/stock-levels.csv", params={"product_id": str(tenant.products[1])}, headers=tenant.headers()
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["sku"], r["on_hand"]) for r in rows] == [("SKU-1", "2")]


async def test_ten_slow_exports_by_one_viewer_do_not_stop_other_users(serve_url, http, make_tenant, owner_pool):
    tenant, other = await make_tenant(), await make_tenant()
    # ~45 MB of CSV: more than every buffer between the replica and the client holds (loopback TCP may
    # autotune to 32 MB here; at ~10 MB, one CI run saw a stalled download finish and free its slot).
    async with owner_pool.acquire() as conn:
        await add_bulk_receipts(conn, tenant.id, tenant.warehouses[0], 15_000, reference_chars=3_000)
    viewer = tenant.headers(tenant.viewer)
    async with httpx.AsyncClient(base_url=serve_url, timeout=30.0) as slow, contextlib.AsyncExitStack() as stack:
        # Ten downloads started and never read: each holds its transaction until the client reads on.
        downloads = [
            await stack.enter_async_context(slow.stream("GET", "/api/v1/exports/stock-movements.csv", headers=viewer))
            for _ in range(10)
        ]
        statuses = sorted(d.status_code for d in downloads)
        assert statuses == [200, 200] + [429] * 8, statuses
        refused = next(d for d in downloads if d.status_code == 429)
        await refused.aread()
        assert refused.json()["code"] == "too_many_exports"
        assert refused.headers["retry-after"] == "5"
        # Meanwhile other users' requests are served, reads and writes.
        reads = await asyncio.gather(
            *[http.get("/api/v1/stock-levels", headers=other.headers()) for _ in range(20)],
            http.get("/api/v1/products", headers=tenant.headers(tenant.planner)),
        )
        assert [r.status_code for r in reads] == [200] * 21
        created = await http.post("/api/v1/products", json={"sku": "DURING", "name": "n"}, headers=other.headers())
        assert created.status_code == 201, created.text
    # The stalled downloads are closed: once the server sees the disconnects, the viewer may export again.
    for _ in range(40):
        again = await http.get("/api/v1/exports/products.csv", headers=viewer)
        if again.status_code != 429:
            break
        await asyncio.sleep(0.5)
    assert again.status_code == 200, again.text


async def test_the_events_websocket_delivers_own_tenant_events_within_a_second_and_never_others(
    http, serve_url, make_tenant
):
    mine = await make_tenant()
    theirs = await make_tenant()
    url = serve_url.replace("http://", "ws://") + "/api/v1/events"
    async with websockets.connect(url) as socket:
        await socket.send(json.dumps({"type": "auth", "token": mine.token()}))
        assert json.loads(await asyncio.wait_for(socket.recv(), 5))["type"] == "ready"

        async def receipt(tenant) -> None:
            body = {
                "type": "receipt",
                "product_id": str(tenant.products[0]),
                "warehouse_id": str(tenant.warehouses[0]),
                "quantity": 1,
            }
            assert (await http.post("/api/v1/stock-movements", json=body, headers=tenant.headers())).status_code == 201

        await receipt(theirs)
        started = time.monotonic()
        await receipt(mine)
        message = json.loads(await asyncio.wait_for(socket.recv(), 1.0))
        assert time.monotonic() - started < 1.0
        assert (message["type"], message["tenant_id"]) == ("stock.changed", str(mine.id))
        await receipt(theirs)
        try:
            leaked = await asyncio.wait_for(socket.recv(), 0.5)
        except TimeoutError:
            leaked = None
        assert leaked is None


async def test_the_events_websocket_refuses_a_bad_token(serve_url):
    url = serve_url.replace("http://", "ws://") + "/api/v1/events"
    async with websockets.connect(url) as socket:
        await socket.send(json.dumps({"type": "auth", "token": "not-a-jwt"}))
        error = json.loads(await asyncio.wait_for(socket.recv(), 5))
        assert error["type"] == "error"
        await asyncio.wait_for(socket.wait_closed(), 5)
        assert socket.close_code == 4401
