"""Hostile input through Serve's HTTP port: oversized bodies, formula injection, exhausting resources."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import itertools
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import openpyxl

from bench.abuse_client import RawResponse, docx_bomb, docx_with_parts, raw_request, repeated, replica_rss_bytes

MIB = 1024 * 1024
# Reading a 64 MiB body (or four at once) would grow the replica by at least that much; Python's own
# allocator noise while serving a handful of requests stays well under it.
RSS_GROWTH_BOUND = 48 * MIB


@contextlib.asynccontextmanager
async def peak_replica_rss(deployment: str = "InventoryAPI"):
    """Samples the replicas' resident memory every 20 ms; yields a dict filled with the baseline and the peak."""
    baseline = sum(replica_rss_bytes(deployment).values())
    assert baseline > 0, f"no local {deployment} replica process found"
    figures = {"baseline": baseline, "peak": baseline}

    async def sample() -> None:
        while True:
            figures["peak"] = max(figures["peak"], sum(replica_rss_bytes(deployment).values()))
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    try:
        yield figures
    finally:
        sampler.cancel()
        figures["peak"] = max(figures["peak"], sum(replica_rss_bytes(deployment).values()))


async def test_anonymous_64_mib_bodies_get_413_without_growing_the_replica(serve_url):
    json_headers = {"Content-Type": "application/json"}
    lost: list[str] = []

    async def oversized(path: str, chunk_bytes: int, *, declared: bool) -> RawResponse:
        def send() -> Awaitable[RawResponse]:
            return raw_request(serve_url, "POST", path, json_headers, repeated(chunk_bytes, 64 * MIB),
                               content_length=64 * MIB if declared else None, timeout_s=60.0)  # fmt: skip

        try:
            return await send()
        except ConnectionError as exc:
            # Seen once in CI under load, never reproduced here: the connection ended without an answer.
            # One loss is reported and retried; the answer itself is still asserted below.
            lost.append(str(exc))
            return await send()

    async with peak_replica_rss() as rss:
        declared, chunked, *parallel = await asyncio.gather(
            oversized("/api/v1/products", MIB, declared=True),
            oversized("/api/v1/products", 64 * 1024, declared=False),
            *[oversized("/api/v1/purchase-orders", 64 * 1024, declared=False) for _ in range(3)],
        )
    print(f"connections that ended without an answer and were retried: {lost}")
    assert len(lost) <= 1, lost
    for response in (declared, chunked, *parallel):
        assert response.status == 413, response.body
        assert b"limit of 1048576 bytes" in response.body
    # The chunked senders were cut off near the limit, not after 64 MiB.
    assert chunked.sent_bytes < 16 * MIB
    print(f"replica RSS baseline {rss['baseline'] / MIB:.1f} MiB, peak {rss['peak'] / MIB:.1f} MiB")
    assert rss["peak"] - rss["baseline"] < RSS_GROWTH_BOUND, rss


async def test_anonymous_upload_gets_401_before_its_body_is_read(serve_url):
    headers = {"Content-Type": "multipart/form-data; boundary=x"}
    for path in ("/api/v1/ai/copilot/documents", "/api/v1/ai/risk/history/import"):
        response = await raw_request(serve_url, "POST", path, headers, repeated(MIB, 64 * MIB), content_length=64 * MIB)
        assert response.status == 401, response.body


async def test_member_upload_over_its_route_limit_gets_413_naming_the_limit(serve_url, make_tenant):
    tenant = await make_tenant()
    headers = {**tenant.headers(), "Content-Type": "multipart/form-data; boundary=x"}
    declared = await raw_request(
        serve_url, "POST", "/api/v1/ai/copilot/documents", headers, repeated(MIB, 64 * MIB), content_length=64 * MIB
    )
    part = b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n\r\n'
    chunked = await raw_request(
        serve_url,
        "POST",
        "/api/v1/ai/copilot/documents",
        headers,
        itertools.chain([part], repeated(MIB, 64 * MIB)),
        content_length=None,
    )
    # (How much the client got to send before the answer reached it depends on the proxy's buffers; the replica
    # itself stops reading at the limit.)
    for response in (declared, chunked):
        assert response.status == 413, response.body
        assert b"limit of 10551296 bytes" in response.body  # 10 MiB file + 64 KiB of multipart framing


async def test_a_body_just_under_the_limit_reaches_the_route(http, make_tenant):
    tenant = await make_tenant()
    # 1 MiB minus a little: valid JSON that the route's own validation refuses (name too long), not the size limit.
    body = {"sku": "NEAR-LIMIT", "name": "n" * (MIB - 100)}
    response = await http.post("/api/v1/products", json=body, headers=tenant.headers())
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"


HOSTILE = {
    "product_name": '=HYPERLINK("http://x","y")',
    "category": "@SUM(A1:A9)",
    "warehouse_code": "+WH",
    "reference": "-2+3+cmd|' /C calc'!A0",
    "reason": "\t=1+1",
    "supplier_code": "=SUP",
    "po_number": "=PO-1",
    "carrier": "=CARRIER",
    "tracking_number": "\r=2",
    "order_reference": "@ref",
}


async def _hostile_records(owner_pool, tenant) -> None:
    """Text a spreadsheet would run as a formula, stored as data may arrive (an ERP sync, an import)."""
    product, warehouse = tenant.products[0], tenant.warehouses[0]
    async with owner_pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE app.products SET name = $2, category = $3 WHERE id = $1",
            product, HOSTILE["product_name"], HOSTILE["category"],
        )  # fmt: skip
        await conn.execute("UPDATE app.warehouses SET code = $2 WHERE id = $1", warehouse, HOSTILE["warehouse_code"])
        await conn.execute(
            "INSERT INTO app.stock_movements (tenant_id, product_id, warehouse_id, movement_type, quantity, reference,"
            " reason) VALUES ($1, $2, $3, 'receipt', 5, $4, $5)",
            tenant.id, product, warehouse, HOSTILE["reference"], HOSTILE["reason"],
        )  # fmt: skip
        supplier = await conn.fetchval(
            "INSERT INTO app.suppliers (tenant_id, code, name) VALUES ($1, $2, 'S') RETURNING id",
            tenant.id, HOSTILE["supplier_code"],
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO app.purchase_orders (tenant_id, number, supplier_id, warehouse_id, currency)"
            " VALUES ($1, $2, $3, $4, 'EUR')",
            tenant.id, HOSTILE["po_number"], supplier, warehouse,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO app.shipments (tenant_id, direction, warehouse_id, carrier, tracking_number, order_reference)"
            " VALUES ($1, 'outbound', $2, $3, $4, $5)",
            tenant.id, warehouse, HOSTILE["carrier"], HOSTILE["tracking_number"], HOSTILE["order_reference"],
        )  # fmt: skip


async def test_every_csv_export_neutralises_formula_cells(http, make_tenant, owner_pool):
    tenant = await make_tenant()
    await _hostile_records(owner_pool, tenant)
    cells: list[str] = []
    for dataset in ("products", "stock-levels", "stock-movements", "purchase-orders", "shipments"):
        response = await http.get(f"/api/v1/exports/{dataset}.csv", headers=tenant.headers(tenant.viewer))
        assert response.status_code == 200, response.text
        rows = list(csv.reader(io.StringIO(response.text, newline="")))
        assert len(rows) > 1, dataset
        for row in rows[1:]:
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (dataset, cell)
            cells += row
    for value in HOSTILE.values():
        assert "'" + value in cells, value  # kept, with the quote that makes a spreadsheet show it as text


async def test_xlsx_export_writes_formula_text_as_strings(http, make_tenant, owner_pool):
    tenant = await make_tenant()
    await _hostile_records(owner_pool, tenant)
    response = await http.get("/api/v1/exports/products.xlsx", headers=tenant.headers())
    assert response.status_code == 200, response.text
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    names = {cell.value: cell.data_type for cell in sheet["C"]}
    assert names[HOSTILE["product_name"]] == "s"  # a string cell, not a formula ('f')


async def _many_movements(owner_pool, tenant, rows: int) -> None:
    """``rows`` receipts with long references, spread over 100 products (the ledger trigger updates each
    product's level row per movement: one hot row would make the load quadratic)."""
    products = [uuid.uuid4() for _ in range(100)]
    async with owner_pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO app.products (id, tenant_id, sku, name) VALUES ($1, $2, $3, $3)",
            [(p, tenant.id, f"BULK-{i}") for i, p in enumerate(products)],
        )
        await conn.copy_records_to_table(
            "stock_movements",
            schema_name="app",
            columns=["tenant_id", "product_id", "warehouse_id", "movement_type", "quantity", "reference"],
            records=[
                (tenant.id, products[i % 100], tenant.warehouses[0], "receipt", 1, f"bulk receipt {i:08d} " + "r" * 600)
                for i in range(rows)
            ],
        )


async def test_ten_slow_exports_by_one_viewer_do_not_stop_other_users(serve_url, http, make_tenant, owner_pool):
    tenant, other = await make_tenant(), await make_tenant()
    await _many_movements(owner_pool, tenant, 15_000)  # ~10 MB of CSV: more than the socket buffers hold
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


async def test_document_upload_that_inflates_past_the_bound_gets_413(http, make_tenant):
    tenant = await make_tenant()
    for filename, data in (("bomb.docx", docx_bomb()), ("parts.docx", docx_with_parts(5000))):
        response = await http.post(
            "/api/v1/ai/copilot/documents", files={"file": (filename, data)}, headers=tenant.headers()
        )
        assert response.status_code == 413, response.text
        assert response.json()["code"] == "document_too_large"
    listed = await http.get("/api/v1/ai/copilot/documents", headers=tenant.headers())
    assert listed.json() == []  # nothing half-stored


LLM = "/api/v1/ai/llm/chat/completions"
HELLO = [{"role": "user", "content": "hi"}]


async def test_costly_openai_requests_are_refused_before_the_engine(http, make_tenant):
    tenant = await make_tenant()
    refused = {
        "invalid_n": {"messages": HELLO, "n": 50},
        "invalid_best_of": {"messages": HELLO, "best_of": 20},
        "invalid_stop": {"messages": HELLO, "stop": [f"s{i}" for i in range(100)]},
        "prompt_too_long": {"messages": [{"role": "user", "content": "word " * 20_000}]},
        "invalid_max_tokens": {"messages": HELLO, "max_tokens": 100_000},
    }
    for code, body in refused.items():
        response = await http.post(LLM, json=body, headers=tenant.headers())
        assert 400 <= response.status_code < 500, (code, response.text)
        assert response.json()["code"] == code, response.text
    # Refused requests spend no rate-limit slot: a bounded one is still answered.
    answered = await http.post(LLM, json={"messages": HELLO, "max_tokens": 4, "n": 1}, headers=tenant.headers())
    assert answered.status_code == 200, answered.text


async def test_viewer_cannot_force_a_forecast_refit(http, make_tenant):
    tenant = await make_tenant()
    params = {"product_id": str(tenant.products[0]), "warehouse_id": str(tenant.warehouses[0]), "refresh": "true"}
    viewer = await http.get("/api/v1/ai/forecast/demand", params=params, headers=tenant.headers(tenant.viewer))
    assert viewer.status_code == 403, viewer.text
    assert "refresh=true" in viewer.json()["message"]
    planner = await http.get("/api/v1/ai/forecast/demand", params=params, headers=tenant.headers())
    assert planner.status_code == 200, planner.text


async def test_reservation_expiring_in_the_past_is_422_and_holds_nothing(http, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(5)})
    body = {
        "product_id": str(tenant.products[0]),
        "warehouse_id": str(tenant.warehouses[0]),
        "quantity": 5,
        "expires_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
    }
    response = await http.post("/api/v1/reservations", json=body, headers=tenant.headers())
    assert response.status_code == 422, response.text
    assert "expires_at must be in the future" in response.json()["message"]
    level = await http.get(
        f"/api/v1/stock-levels/{tenant.products[0]}/{tenant.warehouses[0]}", headers=tenant.headers()
    )
    assert level.json()["available"] == 5.0


async def test_expired_hold_stops_counting_against_available(http, make_tenant, owner_pool):
    tenant = await make_tenant(stock={0: Decimal(5)})
    body = {"product_id": str(tenant.products[0]), "warehouse_id": str(tenant.warehouses[0]), "quantity": 5,
            "expires_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}  # fmt: skip
    held = await http.post("/api/v1/reservations", json=body, headers=tenant.headers())
    assert held.status_code == 201, held.text
    await owner_pool.execute(
        "UPDATE app.reservations SET expires_at = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(held.json()["id"]),
    )
    level = await http.get(
        f"/api/v1/stock-levels/{tenant.products[0]}/{tenant.warehouses[0]}", headers=tenant.headers()
    )
    assert (level.json()["reserved"], level.json()["available"]) == (0.0, 5.0)
    again = await http.post("/api/v1/reservations", json={**body, "quantity": 4}, headers=tenant.headers())
    assert again.status_code == 201, again.text


async def test_uom_conversions_of_another_tenants_product_are_404(http, make_tenant):
    tenant, other = await make_tenant(), await make_tenant()
    response = await http.get(f"/api/v1/products/{other.products[0]}/uom-conversions", headers=tenant.headers())
    assert response.status_code == 404, response.text
    own = await http.get(f"/api/v1/products/{tenant.products[0]}/uom-conversions", headers=tenant.headers())
    assert own.status_code == 200 and own.json() == []


async def test_one_members_idempotency_key_never_replays_for_another_member(http, make_tenant):
    tenant = await make_tenant()
    key = {"Idempotency-Key": "shared-key-1"}
    movement = {"type": "receipt", "product_id": str(tenant.products[0]), "warehouse_id": str(tenant.warehouses[0])}
    planner = await http.post(
        "/api/v1/stock-movements", json={**movement, "quantity": 2}, headers={**tenant.headers(), **key}
    )
    admin = await http.post(
        "/api/v1/stock-movements", json={**movement, "quantity": 3}, headers={**tenant.admin_headers(), **key}
    )
    assert (planner.status_code, admin.status_code) == (201, 201), admin.text
    assert "idempotent-replayed" not in admin.headers
    level = await http.get(
        f"/api/v1/stock-levels/{tenant.products[0]}/{tenant.warehouses[0]}", headers=tenant.headers()
    )
    assert level.json()["on_hand"] == 5.0


ODOO = {
    "name": "odoo-ssrf",
    "kind": "odoo",
    "options": {"database": "prod"},
    "credentials": {"username": "sync@example.com", "api_key": "odoo-key"},
    "mapping": {"units": {"Units": "each"}, "default_currency": "EUR"},
}


async def test_a_connector_aimed_at_the_metadata_address_fails_its_sync_without_calling_it(http, make_tenant):
    tenant = await make_tenant()
    body = {**ODOO, "base_url": "http://169.254.169.254/latest"}
    created = await http.post("/api/v1/integrations/connectors", json=body, headers=tenant.admin_headers())
    assert created.status_code == 201, created.text
    connector = created.json()["id"]
    run = (await http.post(f"/api/v1/integrations/connectors/{connector}/sync", headers=tenant.headers())).json()
    for _ in range(120):
        run = (await http.get(f"/api/v1/integrations/runs/{run['id']}", headers=tenant.headers())).json()
        if run["status"] not in ("queued", "running"):
            break
        await asyncio.sleep(0.5)
    assert run["status"] == "failed", run
    assert "169.254.169.254 is not a public address" in str(run), run


async def test_moving_a_connector_needs_its_credentials_again(http, make_tenant):
    tenant = await make_tenant()
    body = {**ODOO, "base_url": "https://erp.example.com"}
    created = await http.post("/api/v1/integrations/connectors", json=body, headers=tenant.admin_headers())
    path = f"/api/v1/integrations/connectors/{created.json()['id']}"
    moved = await http.patch(path, json={"base_url": "https://attacker.example.net"}, headers=tenant.admin_headers())
    assert moved.status_code == 400, moved.text
    assert moved.json()["code"] == "credentials_required"
    with_secrets = {"base_url": "https://erp2.example.com", "credentials": body["credentials"]}
    assert (await http.patch(path, json=with_secrets, headers=tenant.admin_headers())).status_code == 200
