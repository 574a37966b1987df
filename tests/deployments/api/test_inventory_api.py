"""The inventory API end to end (in process): flows, idempotency, roles, tenant isolation, readiness, metrics
and OpenAPI. Bad input: test_inventory_validation_api.py; tokens: test_auth_api.py; request ids, which Serve's
proxy sets: tests/deployments/test_serve_smoke.py."""

from __future__ import annotations

import asyncio
import json
import uuid
from decimal import Decimal

import httpx

from tests.conftest import TenantFixture


async def keyed_receipt(make_tenant, key: str, quantity: int) -> tuple[TenantFixture, dict[str, str], dict]:
    """A fresh tenant, its planner's headers with a fresh Idempotency-Key, and a receipt of ``quantity`` units
    of its first product into its first warehouse."""
    tenant = await make_tenant()
    headers = {**tenant.headers(), "Idempotency-Key": f"{key}-{uuid.uuid4()}"}
    body = {
        "type": "receipt",
        "product_id": str(tenant.products[0]),
        "warehouse_id": str(tenant.warehouses[0]),
        "quantity": quantity,
    }
    return tenant, headers, body


async def test_product_warehouse_receipt_and_stock_level_flow(http, make_tenant):
    tenant = await make_tenant()
    headers = tenant.headers()
    product = await http.post("/api/v1/products", json={"sku": "FLOW-1", "name": "Flow widget"}, headers=headers)
    assert product.status_code == 201, product.text
    product_id = product.json()["id"]
    receipt = await http.post(
        "/api/v1/stock-movements",
        json={"type": "receipt", "product_id": product_id, "warehouse_id": str(tenant.warehouses[0]), "quantity": 7},
        headers=headers,
    )
    assert receipt.status_code == 201, receipt.text
    level = await http.get(f"/api/v1/stock-levels/{product_id}/{tenant.warehouses[0]}", headers=headers)
    assert level.json()["on_hand"] == 7.0
    assert level.json()["available"] == 7.0


async def test_reservation_fulfilment_flow_issues_stock(http, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(9)})
    headers = tenant.headers()
    body = {"product_id": str(tenant.products[0]), "warehouse_id": str(tenant.warehouses[0]), "quantity": 4}
    reservation = await http.post("/api/v1/reservations", json=body, headers=headers)
    assert reservation.status_code == 201, reservation.text
    fulfilled = await http.post(f"/api/v1/reservations/{reservation.json()['id']}/fulfil", headers=headers)
    assert fulfilled.json()["status"] == "fulfilled"
    level = await http.get(f"/api/v1/stock-levels/{tenant.products[0]}/{tenant.warehouses[0]}", headers=headers)
    assert (level.json()["on_hand"], level.json()["reserved"]) == (5.0, 0.0)


async def test_cursor_pagination_walks_every_product_once(http, make_tenant):
    tenant = await make_tenant()
    headers = tenant.headers()
    for index in range(7):
        created = await http.post("/api/v1/products", json={"sku": f"PG-{index}", "name": f"p{index}"}, headers=headers)
        assert created.status_code == 201
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, "sort": "-sku", **({"cursor": cursor} if cursor else {})}
        page = (await http.get("/api/v1/products", params=params, headers=headers)).json()
        seen += [item["sku"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted([f"PG-{i}" for i in range(7)] + ["SKU-0", "SKU-1"], reverse=True)


async def test_stock_levels_walk_every_level_once_while_stock_moves(http, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(5), 1: Decimal(5)})
    headers = tenant.headers()

    async def receive(product: object, warehouse: object) -> None:
        body = {"type": "receipt", "product_id": str(product), "warehouse_id": str(warehouse), "quantity": 1}
        created = await http.post("/api/v1/stock-movements", json=body, headers=headers)
        assert created.status_code == 201, created.text

    for product in tenant.products:
        await receive(product, tenant.warehouses[1])
    seen: list[tuple[str, str]] = []
    cursor = None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = (await http.get("/api/v1/stock-levels", params=params, headers=headers)).json()
        seen += [(item["sku"], item["warehouse_code"]) for item in page["items"]]
        if len(seen) == 1:  # the level just listed moves: sorted by updated_at it came round again
            listed = page["items"][0]
            await receive(listed["product_id"], listed["warehouse_id"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [("SKU-0", "WH-0"), ("SKU-0", "WH-1"), ("SKU-1", "WH-0"), ("SKU-1", "WH-1")]
    assert [sku for sku, _ in seen] == ["SKU-0", "SKU-0", "SKU-1", "SKU-1"]


async def test_a_movement_type_filter_takes_the_ledgers_types_and_names_them_when_refused(http, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(5)})
    headers = tenant.headers()
    product, (source, target) = str(tenant.products[0]), tenant.warehouses
    body = {"type": "transfer", "product_id": product, "from_warehouse_id": str(source), "to_warehouse_id": str(target)}
    moved = await http.post("/api/v1/stock-movements", json={**body, "quantity": 2}, headers=headers)
    assert moved.status_code == 201, moved.text
    listed = await http.get("/api/v1/stock-movements?movement_type=transfer_out", headers=headers)
    assert [(m["warehouse_id"], m["quantity"]) for m in listed.json()["items"]] == [(str(source), -2.0)]
    refused = await http.get("/api/v1/stock-movements?movement_type=transfer", headers=headers)
    assert (refused.status_code, refused.json()["details"]["allowed"]) == (
        400,
        ["receipt", "issue", "transfer_out", "transfer_in", "adjustment"],
    )


async def test_list_filters_and_search_narrow_the_results(http, make_tenant):
    tenant = await make_tenant()
    headers = tenant.headers()
    await http.post("/api/v1/products", json={"sku": "CAT-A", "name": "Alpha", "category": "Tools"}, headers=headers)
    await http.post(
        "/api/v1/products", json={"sku": "CAT-B", "name": "Beta", "category": "Tools", "active": False}, headers=headers
    )
    tools = (await http.get("/api/v1/products?category=Tools&active=true", headers=headers)).json()["items"]
    assert [p["sku"] for p in tools] == ["CAT-A"]
    searched = (await http.get("/api/v1/products?q=bet", headers=headers)).json()["items"]
    assert [p["sku"] for p in searched] == ["CAT-B"]


async def test_a_warehouse_keeps_its_time_zone_and_lists_filter_by_it(http, make_tenant):
    tenant = await make_tenant()
    headers = tenant.headers()
    body = {"code": "LAX-1", "name": "Los Angeles", "timezone": "America/Los_Angeles"}
    created = await http.post("/api/v1/warehouses", json=body, headers=headers)
    assert (created.status_code, created.json()["timezone"]) == (201, "America/Los_Angeles"), created.text
    moved = await http.patch(
        f"/api/v1/warehouses/{tenant.warehouses[0]}", json={"timezone": "Asia/Tokyo"}, headers=headers
    )
    assert moved.json()["timezone"] == "Asia/Tokyo"
    western = (await http.get("/api/v1/warehouses?timezone=America/Los_Angeles", headers=headers)).json()["items"]
    assert [w["code"] for w in western] == ["LAX-1"]


async def test_a_warehouse_zone_set_to_null_is_not_known_and_reads_as_null(http, make_tenant):
    tenant = await make_tenant()
    headers = tenant.headers()
    url = f"/api/v1/warehouses/{tenant.warehouses[0]}"
    await http.patch(url, json={"timezone": "Asia/Tokyo"}, headers=headers)
    cleared = await http.patch(url, json={"timezone": None}, headers=headers)
    assert (cleared.status_code, cleared.json()["timezone"]) == (200, None), cleared.text
    assert (await http.get(url, headers=headers)).json()["timezone"] is None


async def test_warehouses_list_by_whether_their_zone_is_given(http, make_tenant):
    tenant = await make_tenant()
    headers = tenant.headers()
    await http.patch(f"/api/v1/warehouses/{tenant.warehouses[0]}", json={"timezone": "Asia/Tokyo"}, headers=headers)

    async def codes(query: str) -> list[str]:
        response = await http.get(f"/api/v1/warehouses{query}", headers=headers)
        assert response.status_code == 200, response.text
        return [w["code"] for w in response.json()["items"]]

    everything = await codes("")
    given = await codes("?has_timezone=true")
    assert given == [everything[0]] and await codes("?has_timezone=false") == everything[1:]
    bad = await http.get("/api/v1/warehouses?has_timezone=maybe", headers=headers)
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_filter")


async def test_movements_filter_by_when_they_happened_and_levels_by_what_is_available(http, make_tenant):
    # Until 2026-12-06 these filters passed the raw text to the database, which refused every value (422).
    tenant = await make_tenant()
    headers = tenant.headers()
    place = {"product_id": str(tenant.products[0]), "warehouse_id": str(tenant.warehouses[0])}
    for day in ("2026-01-10", "2026-02-10", "2026-03-10"):
        body = {"type": "receipt", **place, "quantity": 1, "occurred_at": f"{day}T12:00:00+01:00"}
        assert (await http.post("/api/v1/stock-movements", json=body, headers=headers)).status_code == 201

    async def days(query: str) -> list[str]:
        page = (await http.get(f"/api/v1/stock-movements?{query}&sort=occurred_at", headers=headers)).json()
        return [m["occurred_at"][:10] for m in page["items"]]

    assert await days("occurred_from=2026-02-01&occurred_to=2026-03-10T11:00:01Z") == ["2026-02-10", "2026-03-10"]
    assert await days("occurred_to=2026-03-10T11:00:00%2B00:00") == ["2026-01-10", "2026-02-10"]  # before, not at
    levels = (await http.get("/api/v1/stock-levels?available_below=3.5", headers=headers)).json()["items"]
    assert [(lv["available"]) for lv in levels] == [3.0]
    assert (await http.get("/api/v1/stock-levels?available_below=3", headers=headers)).json()["items"] == []


async def test_same_idempotency_key_twice_applies_the_movement_once(http, make_tenant):
    tenant, headers, body = await keyed_receipt(make_tenant, "receipt", 3)
    first = await http.post("/api/v1/stock-movements", json=body, headers=headers)
    second = await http.post("/api/v1/stock-movements", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.json() == first.json()
    level = await http.get(f"/api/v1/stock-levels/{tenant.products[0]}/{tenant.warehouses[0]}", headers=headers)
    assert level.json()["on_hand"] == 3.0


async def test_concurrent_requests_with_one_idempotency_key_apply_once(http, make_tenant):
    tenant, headers, body = await keyed_receipt(make_tenant, "burst", 2)
    responses = await asyncio.gather(
        *(http.post("/api/v1/stock-movements", json=body, headers=headers) for _ in range(8))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["movements"][0]["id"] for r in responses}) == 1
    level = await http.get(f"/api/v1/stock-levels/{tenant.products[0]}/{tenant.warehouses[0]}", headers=headers)
    assert level.json()["on_hand"] == 2.0


async def test_idempotency_key_reused_with_another_body_is_refused(http, make_tenant):
    _, headers, body = await keyed_receipt(make_tenant, "reuse", 2)
    await http.post("/api/v1/stock-movements", json=body, headers=headers)
    changed = await http.post("/api/v1/stock-movements", json={**body, "quantity": 5}, headers=headers)
    assert changed.status_code == 422
    assert changed.json()["code"] == "idempotency_key_reused"


async def test_idempotency_key_reused_with_a_quantity_differing_past_a_floats_digits_is_refused(http, make_tenant):
    # Before, the fingerprint read quantities as floats: .5678 and .5677 of 12345678901234 were one body, and the
    # second was answered with the first's receipt, never applied.
    _, headers, body = await keyed_receipt(make_tenant, "precise", 2)
    first = await http.post(
        "/api/v1/stock-movements", json={**body, "quantity": "12345678901234.5678"}, headers=headers
    )
    assert first.status_code == 201, first.text
    changed = await http.post(
        "/api/v1/stock-movements", json={**body, "quantity": "12345678901234.5677"}, headers=headers
    )
    assert (changed.status_code, changed.json()["code"]) == (422, "idempotency_key_reused")


async def test_a_quantity_sent_as_a_json_number_keeps_every_digit_in_the_ledger_and_the_key(
    http, make_tenant, owner_pool
):
    # Before, JSON numbers were read as floats: the ledger got 12345678901234.568, and .5677 under the same key was
    # the same body, answered with the first's receipt.
    tenant, headers, body = await keyed_receipt(make_tenant, "number", 2)
    headers = {**headers, "Content-Type": "application/json"}

    def with_quantity(number: str) -> str:  # the number as written, not a float's digits
        return json.dumps({**body, "quantity": "NUMBER"}).replace('"NUMBER"', number)

    first = await http.post("/api/v1/stock-movements", content=with_quantity("12345678901234.5678"), headers=headers)
    assert first.status_code == 201, first.text
    async with owner_pool.acquire() as conn:
        stored = await conn.fetchval("SELECT quantity FROM app.stock_movements WHERE tenant_id = $1", tenant.id)
    assert stored == Decimal("12345678901234.5678")
    changed = await http.post("/api/v1/stock-movements", content=with_quantity("12345678901234.5677"), headers=headers)
    assert (changed.status_code, changed.json()["code"]) == (422, "idempotency_key_reused")


async def test_fifty_parallel_reservation_requests_against_ten_units_yield_ten_successes(http, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(10)})
    headers = tenant.headers()
    body = {"product_id": str(tenant.products[0]), "warehouse_id": str(tenant.warehouses[0]), "quantity": 1}

    async def reserve() -> httpx.Response:
        # As a client does: a 503 (no pooled connection within 5 s on a loaded 2-core CI machine) is retried after
        # its Retry-After; every request ends in a hold or a refusal.
        for _ in range(20):
            response = await http.post("/api/v1/reservations", json=body, headers=headers)
            if response.status_code != 503:
                return response
            await asyncio.sleep(float(response.headers["Retry-After"]))
        return response

    statuses = [r.status_code for r in await asyncio.gather(*(reserve() for _ in range(50)))]
    assert statuses.count(201) == 10
    assert statuses.count(409) == 40
    level = await http.get(f"/api/v1/stock-levels/{tenant.products[0]}/{tenant.warehouses[0]}", headers=headers)
    assert level.json()["available"] == 0.0


async def test_viewer_cannot_create_products(http, make_tenant):
    tenant = await make_tenant()
    response = await http.post(
        "/api/v1/products", json={"sku": "V-1", "name": "v"}, headers=tenant.headers(tenant.viewer)
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


async def test_viewer_can_read_stock(http, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(1)})
    response = await http.get("/api/v1/stock-levels", headers=tenant.headers(tenant.viewer))
    assert response.status_code == 200
    assert len(response.json()["items"]) == 1


# Bad input: every case is a 4xx with a JSON error and leaves the ledger untouched ---------------------


async def test_every_endpoint_hides_another_tenants_records(http, make_tenant):
    mine = await make_tenant(stock={0: Decimal(5)})
    theirs = await make_tenant(stock={0: Decimal(5)})
    their_reservation = await http.post(
        "/api/v1/reservations",
        json={"product_id": str(theirs.products[0]), "warehouse_id": str(theirs.warehouses[0]), "quantity": 1},
        headers=theirs.headers(),
    )
    assert their_reservation.status_code == 201
    reservation_id = their_reservation.json()["id"]
    p, w = theirs.products[0], theirs.warehouses[0]
    attempts = [
        ("GET", f"/api/v1/products/{p}", None),
        ("PATCH", f"/api/v1/products/{p}", {"name": "mine now"}),
        ("DELETE", f"/api/v1/products/{p}", None),
        ("GET", f"/api/v1/warehouses/{w}", None),
        ("PATCH", f"/api/v1/warehouses/{w}", {"name": "mine now"}),
        ("DELETE", f"/api/v1/warehouses/{w}", None),
        ("GET", f"/api/v1/stock-levels/{p}/{w}", None),
        (
            "POST",
            "/api/v1/stock-movements",
            {"type": "issue", "product_id": str(p), "warehouse_id": str(w), "quantity": 1},
        ),
        ("POST", "/api/v1/reservations", {"product_id": str(p), "warehouse_id": str(w), "quantity": 1}),
        ("GET", f"/api/v1/reservations/{reservation_id}", None),
        ("POST", f"/api/v1/reservations/{reservation_id}/release", None),
        ("POST", f"/api/v1/reservations/{reservation_id}/fulfil", None),
    ]
    leaks = []
    for method, path, body in attempts:
        response = await http.request(method, path, json=body, headers=mine.admin_headers())
        if response.status_code not in (403, 404):
            leaks.append((method, path, response.status_code, response.text[:200]))
    assert leaks == []
    their_ids = {str(theirs.id), str(p), str(w), reservation_id}
    for path in [
        "/api/v1/products",
        "/api/v1/warehouses",
        "/api/v1/suppliers",
        "/api/v1/stock-levels",
        "/api/v1/stock-movements",
        "/api/v1/reservations",
    ]:
        listing = await http.get(path, params={"limit": 200}, headers=mine.admin_headers())
        assert listing.status_code == 200
        assert not their_ids & set(_all_ids(listing.json())), path
    after = await http.get(f"/api/v1/stock-levels/{p}/{w}", headers=theirs.headers())
    assert (after.json()["on_hand"], after.json()["reserved"]) == (5.0, 1.0)
    untouched = await http.get(f"/api/v1/products/{p}", headers=theirs.headers())
    assert untouched.json()["name"] == "Product 0"


def _all_ids(payload: dict) -> list[str]:
    return [str(value) for item in payload["items"] for key, value in item.items() if key.endswith("id")]


# Operations ------------------------------------------------------------------------------------------------


async def test_readiness_checks_the_database(http):
    # Probed as Kubernetes does, a failed probe retried (every 5 s, the Retry-After): one CI run on a loaded machine
    # got a single 503. The schema check itself is in tests/deployments/test_readiness.py.
    for _ in range(6):
        response = await http.get("/readyz")
        if response.status_code != 503:
            break
        await asyncio.sleep(float(response.headers["retry-after"]))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ready"


async def test_metrics_count_requests_by_route_template(http, make_tenant):
    tenant = await make_tenant()
    await http.get(f"/api/v1/products/{tenant.products[0]}", headers=tenant.headers())
    metrics = (await http.get("/metrics")).text
    assert 'chainsight_http_requests_total{method="GET",route="/api/v1/products/{item_id}",status="200"}' in metrics
    assert "chainsight_http_request_duration_seconds_bucket" in metrics


async def test_openapi_schema_lists_the_inventory_routes(http):
    schema = (await http.get("/openapi.json")).json()
    assert {"/api/v1/products", "/api/v1/stock-movements", "/api/v1/reservations"} <= set(schema["paths"])


async def test_retried_fulfilment_with_the_same_key_issues_stock_once(http, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(6)})
    body = {"product_id": str(tenant.products[0]), "warehouse_id": str(tenant.warehouses[0]), "quantity": 4}
    held = (await http.post("/api/v1/reservations", json=body, headers=tenant.headers())).json()
    headers = {**tenant.headers(), "Idempotency-Key": f"fulfil-{held['id']}"}
    first = await http.post(f"/api/v1/reservations/{held['id']}/fulfil", headers=headers)
    again = await http.post(f"/api/v1/reservations/{held['id']}/fulfil", headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.headers.get("Idempotent-Replayed") == "true"
    level = await http.get(f"/api/v1/stock-levels/{tenant.products[0]}/{tenant.warehouses[0]}", headers=headers)
    assert level.json()["on_hand"] == 2.0


async def test_rows_an_erp_sync_or_an_import_wrote_outside_the_input_rules_are_listed(http, make_tenant, owner_pool):
    # A code with spaces (an ERP's supplier reference, a vendor name imported as a code), a city longer than the
    # API accepts, an address that is not one: before, one such row made the whole listing a 500.
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        supplier = await conn.fetchval(
            "INSERT INTO app.suppliers (tenant_id, code, name, email) "
            "VALUES ($1, 'ACME GmbH & Co.', 'A', 'sales at acme') RETURNING id",
            tenant.id,
        )
        await conn.execute("INSERT INTO app.products (tenant_id, sku, name) VALUES ($1, 'SKU 12/ä', 'P')", tenant.id)
        await conn.execute(
            "INSERT INTO app.warehouses (tenant_id, code, name, city) VALUES ($1, 'Main WH', 'W', $2)",
            tenant.id,
            "C" * 150,
        )
    headers = tenant.headers()
    suppliers = (await http.get("/api/v1/suppliers", headers=headers)).json()["items"]
    assert [(s["code"], s["email"]) for s in suppliers] == [("ACME GmbH & Co.", "sales at acme")]
    assert (await http.get(f"/api/v1/suppliers/{supplier}", headers=headers)).status_code == 200
    assert "SKU 12/ä" in [p["sku"] for p in (await http.get("/api/v1/products", headers=headers)).json()["items"]]
    cities = [w["city"] for w in (await http.get("/api/v1/warehouses", headers=headers)).json()["items"]]
    assert "C" * 150 in cities


async def test_a_products_unit_cannot_change_once_its_stock_counts_in_it(http, make_tenant):
    # 9 each would read as 9 kg: refused; a product nothing counts in yet may still change its unit.
    tenant = await make_tenant(stock={0: Decimal(9)})
    headers = tenant.headers()
    counted = await http.patch(
        f"/api/v1/products/{tenant.products[0]}", json={"unit_of_measure": "kg"}, headers=headers
    )
    assert (counted.status_code, counted.json()["code"]) == (409, "unit_in_use"), counted.text
    assert "product SKU-0 has stock movements counted in each" in counted.json()["message"]
    unused = await http.patch(f"/api/v1/products/{tenant.products[1]}", json={"unit_of_measure": "kg"}, headers=headers)
    assert (unused.status_code, unused.json()["unit_of_measure"]) == (200, "kg")


async def test_a_products_unit_cannot_change_once_a_shipment_line_counts_in_it(http, make_tenant):
    # Before, only the ledger, order lines, reservations and rules counted: an outbound line of 100 (each) of a
    # product without stock let the unit become kg, and the delivery issued 100 kg. An outbound line holds its stock
    # since 2026-12-08 (a reservation, which counts too); an inbound line of a product not yet stocked still counts.
    tenant = await make_tenant()
    body = {"direction": "inbound", "warehouse_id": str(tenant.warehouses[0]), "carrier": "UPS",
            "tracking_number": "1Z-UNIT", "lines": [{"product_id": str(tenant.products[1]), "quantity": 100}],
            }  # fmt: skip
    assert (await http.post("/api/v1/shipments", json=body, headers=tenant.headers())).status_code == 201
    changed = await http.patch(
        f"/api/v1/products/{tenant.products[1]}", json={"unit_of_measure": "kg"}, headers=tenant.headers()
    )
    assert (changed.status_code, changed.json()["code"]) == (409, "unit_in_use"), changed.text


async def test_a_products_unit_cannot_change_while_a_packaging_unit_counts_in_it(http, make_tenant):
    # Before, a box of 50 (each) became a box of 50 kg when the unit changed, and orders in boxes followed.
    tenant = await make_tenant()
    product, headers = tenant.products[1], tenant.headers()
    conversion = f"/api/v1/products/{product}/uom-conversions/box"
    assert (await http.put(conversion, json={"factor": "50"}, headers=headers)).status_code == 200
    changed = await http.patch(f"/api/v1/products/{product}", json={"unit_of_measure": "kg"}, headers=headers)
    assert (changed.status_code, changed.json()["code"]) == (409, "unit_in_use"), changed.text
    assert "product SKU-1 has packaging units counted in each" in changed.json()["message"]
    assert (await http.delete(conversion, headers=headers)).status_code == 204
    assert (await http.delete(conversion, headers=headers)).json()["code"] == "unknown_uom_conversion"
    changed = await http.patch(f"/api/v1/products/{product}", json={"unit_of_measure": "kg"}, headers=headers)
    assert changed.status_code == 200, changed.text


async def test_the_next_page_of_products_sorted_by_long_cyrillic_names_is_reachable(http, make_tenant):
    # Each \u escape of the cursor's JSON took six bytes: 120 Cyrillic letters gave a cursor past 1,000 characters,
    # which the cursor parameter refused (422) although the API had issued it.
    tenant = await make_tenant()
    for i in range(2):
        body = {"sku": f"CYR-{i}", "name": "Ж" * 198 + str(i)}
        assert (await http.post("/api/v1/products", json=body, headers=tenant.headers())).status_code == 201
    first = (await http.get("/api/v1/products?sort=name&limit=1&q=CYR", headers=tenant.headers())).json()
    following = await http.get(
        "/api/v1/products", params={"sort": "name", "limit": 1, "q": "CYR", "cursor": first["next_cursor"]},
        headers=tenant.headers(),
    )  # fmt: skip
    assert following.status_code == 200, following.text
    assert [p["sku"] for p in following.json()["items"]] == ["CYR-1"]
