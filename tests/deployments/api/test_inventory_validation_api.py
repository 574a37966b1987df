"""Bad requests to the inventory API (in process) get precise 4xx errors and change nothing."""

from __future__ import annotations

import base64
import uuid

NESTED_CURSOR = base64.urlsafe_b64encode(b"[" * 1490).decode().rstrip("=")


def bad_requests(tenant, other) -> list[tuple[str, str, str, dict | str | None, dict, int, str]]:
    p, w, w2 = str(tenant.products[0]), str(tenant.warehouses[0]), str(tenant.warehouses[1])
    move = "/api/v1/stock-movements"
    return [
        ("malformed JSON", "POST", move, '{"type": "receipt",', {}, 400, "malformed_json"),
        (
            "unknown field",
            "POST",
            move,
            {"type": "receipt", "product_id": p, "warehouse_id": w, "quantity": 1, "colour": "red"},
            {},
            422,
            "validation_error",
        ),
        (
            "unknown movement type",
            "POST",
            move,
            {"type": "teleport", "product_id": p, "quantity": 1},
            {},
            422,
            "validation_error",
        ),
        (
            "negative quantity",
            "POST",
            move,
            {"type": "receipt", "product_id": p, "warehouse_id": w, "quantity": -5},
            {},
            422,
            "validation_error",
        ),
        (
            "zero quantity",
            "POST",
            move,
            {"type": "issue", "product_id": p, "warehouse_id": w, "quantity": 0},
            {},
            422,
            "validation_error",
        ),
        (
            "non-numeric quantity",
            "POST",
            move,
            {"type": "receipt", "product_id": p, "warehouse_id": w, "quantity": "lots"},
            {},
            422,
            "validation_error",
        ),
        (
            "NaN quantity",
            "POST",
            move,
            {"type": "receipt", "product_id": p, "warehouse_id": w, "quantity": "NaN"},
            {},
            422,
            "validation_error",
        ),
        (
            "too many decimals",
            "POST",
            move,
            {"type": "receipt", "product_id": p, "warehouse_id": w, "quantity": "1.123456"},
            {},
            422,
            "validation_error",
        ),
        (
            "product id not a uuid",
            "POST",
            move,
            {"type": "receipt", "product_id": "abc", "warehouse_id": w, "quantity": 1},
            {},
            422,
            "validation_error",
        ),
        (
            "unknown product",
            "POST",
            move,
            {"type": "receipt", "product_id": str(uuid.uuid4()), "warehouse_id": w, "quantity": 1},
            {},
            404,
            "unknown_product",
        ),
        (
            "other tenant's warehouse",
            "POST",
            move,
            {"type": "receipt", "product_id": p, "warehouse_id": str(other.warehouses[0]), "quantity": 1},
            {},
            404,
            "unknown_warehouse",
        ),
        (
            "transfer to same warehouse",
            "POST",
            move,
            {"type": "transfer", "product_id": p, "from_warehouse_id": w, "to_warehouse_id": w, "quantity": 1},
            {},
            422,
            "validation_error",
        ),
        (
            "adjustment without reason",
            "POST",
            move,
            {"type": "adjustment", "product_id": p, "warehouse_id": w2, "quantity": 1},
            {},
            422,
            "validation_error",
        ),
        (
            "timestamp without timezone",
            "POST",
            move,
            {"type": "receipt", "product_id": p, "warehouse_id": w, "quantity": 1, "occurred_at": "2026-01-01T10:00"},
            {},
            422,
            "validation_error",
        ),
        (
            "timestamp before 1900",
            "POST",
            move,
            {
                "type": "receipt",
                "product_id": p,
                "warehouse_id": w,
                "quantity": 1,
                "occurred_at": "0001-01-01T00:00+14:00",
            },
            {},
            422,
            "validation_error",
        ),
        (
            "timestamp in the future",
            "POST",
            move,
            {"type": "receipt", "product_id": p, "warehouse_id": w, "quantity": 1, "occurred_at": "9999-01-01T00:00Z"},
            {},
            422,
            "validation_error",
        ),
        (
            "issue beyond stock",
            "POST",
            move,
            {"type": "issue", "product_id": p, "warehouse_id": w, "quantity": 1},
            {},
            409,
            "insufficient_stock",
        ),
        ("body is a list", "POST", move, [1, 2], {}, 422, "validation_error"),
        (
            "empty idempotency key",
            "POST",
            move,
            {"type": "receipt", "product_id": p, "warehouse_id": w, "quantity": 1},
            {"Idempotency-Key": ""},
            422,
            "validation_error",
        ),
        ("duplicate sku", "POST", "/api/v1/products", {"sku": "SKU-0", "name": "dup"}, {}, 409, "duplicate"),
        ("sku with spaces", "POST", "/api/v1/products", {"sku": "a b", "name": "x"}, {}, 422, "validation_error"),
        (
            "negative unit cost",
            "POST",
            "/api/v1/products",
            {"sku": "NC", "name": "x", "unit_cost": -1},
            {},
            422,
            "validation_error",
        ),
        ("name wrong type", "POST", "/api/v1/products", {"sku": "NT", "name": 42}, {}, 422, "validation_error"),
        ("empty patch", "PATCH", f"/api/v1/products/{p}", {}, {}, 422, "validation_error"),
        ("null name in patch", "PATCH", f"/api/v1/products/{p}", {"name": None}, {}, 422, "validation_error"),
        (
            "bad country code",
            "POST",
            "/api/v1/suppliers",
            {"code": "S", "name": "s", "country": "Germany"},
            {},
            422,
            "validation_error",
        ),
        (
            "unknown warehouse time zone",
            "POST",
            "/api/v1/warehouses",
            {"code": "TZ-1", "name": "Mars base", "timezone": "Mars/Olympus"},
            {},
            422,
            "validation_error",
        ),
        ("bad cursor", "GET", "/api/v1/products?cursor=not-a-cursor", None, {}, 400, "invalid_cursor"),
        (  # {"k":"sku","d":false,"v":"A","id":1}: a number where the id goes was a 500
            "edited cursor",
            "GET",
            "/api/v1/products?cursor=eyJrIjoic2t1IiwiZCI6ZmFsc2UsInYiOiJBIiwiaWQiOjF9",
            None,
            {},
            400,
            "invalid_cursor",
        ),
        (  # {"k":"created_at","d":true,"v":"0001-01-01T00:00:00+01:00",...}: before year 1 in UTC, was a 422
            "cursor time out of range",
            "GET",
            "/api/v1/notifications?cursor=eyJrIjoiY3JlYXRlZF9hdCIsImQiOnRydWUsInYiOiIwMDAxLTAxLTAxVDAwOjAwOjAwKzAxOjAwIiwiaWQiOiIwMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDEifQ",
            None,
            {},
            400,
            "invalid_cursor",
        ),
        # 1,490 nested brackets: json gave up with a RecursionError, a 500
        (
            "nested cursor",
            "GET",
            "/api/v1/stock-movements?cursor=W1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1s",
            None,
            {},
            400,
            "invalid_cursor",
        ),
        (  # {"k":"available","d":false,"v":"NaN",...}: NaN sorts past every number, an empty last page
            "NaN cursor",
            "GET",
            "/api/v1/stock-levels?sort=available&cursor=eyJrIjoiYXZhaWxhYmxlIiwiZCI6ZmFsc2UsInYiOiJOYU4iLCJpZCI6IjAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMSJ9",
            None,
            {},
            400,
            "invalid_cursor",
        ),
        ("page size too large", "GET", "/api/v1/products?limit=5000", None, {}, 422, "validation_error"),
        ("page size zero", "GET", "/api/v1/products?limit=0", None, {}, 422, "validation_error"),
        ("unknown sort field", "GET", "/api/v1/products?sort=price", None, {}, 400, "invalid_sort"),
        ("unknown filter", "GET", "/api/v1/products?colour=red", None, {}, 400, "unknown_parameter"),
        ("text search where a list has none", "GET", "/api/v1/stock-levels?q=bolt", None, {}, 400, "unknown_parameter"),
        (
            "text search where an export has none",
            "GET",
            "/api/v1/exports/stock-levels.pdf?q=bolt",
            None,
            {},
            400,
            "unknown_parameter",
        ),
        ("bad boolean filter", "GET", "/api/v1/products?active=maybe", None, {}, 400, "invalid_filter"),
        ("bad uuid filter", "GET", "/api/v1/stock-movements?product_id=xyz", None, {}, 400, "invalid_filter"),
        (
            "time filter without offset",
            "GET",
            f"{move}?occurred_from=2026-01-01T10:00",
            None,
            {},
            400,
            "invalid_filter",
        ),
        (
            "number filter not a number",
            "GET",
            "/api/v1/stock-levels?available_below=NaN",
            None,
            {},
            400,
            "invalid_filter",
        ),
        ("path id not a uuid", "GET", "/api/v1/products/123", None, {}, 422, "validation_error"),
        ("bad tenant header", "GET", "/api/v1/products", None, {"X-Tenant-Id": "nope"}, 400, "invalid_tenant_id"),
        ("foreign tenant header", "GET", "/api/v1/products", None, {"X-Tenant-Id": str(other.id)}, 403, "forbidden"),
        ("unknown route", "GET", "/api/v1/nothing-here", None, {}, 404, "not_found"),
        ("wrong method", "PUT", "/api/v1/products", {}, {}, 405, "method_not_allowed"),
    ]


async def test_bad_requests_get_precise_4xx_errors_and_change_nothing(http, make_tenant, owner_pool):
    tenant = await make_tenant()
    other = await make_tenant()
    async with owner_pool.acquire() as conn:
        before = await conn.fetchval("SELECT count(*) FROM app.stock_movements WHERE tenant_id = $1", tenant.id)
        products_before = await conn.fetchval("SELECT count(*) FROM app.products WHERE tenant_id = $1", tenant.id)
    failures = []
    for label, method, path, body, extra_headers, status, code in bad_requests(tenant, other):
        headers = {**tenant.headers(), **extra_headers}
        if isinstance(body, str):
            response = await http.request(
                method, path, content=body, headers={**headers, "Content-Type": "application/json"}
            )
        else:
            response = await http.request(method, path, json=body, headers=headers)
        payload = response.json()
        if response.status_code != status or payload.get("code") != code or not payload.get("message"):
            failures.append((label, response.status_code, payload))
    assert failures == []
    async with owner_pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM app.stock_movements WHERE tenant_id = $1", tenant.id) == before
        assert (
            await conn.fetchval("SELECT count(*) FROM app.products WHERE tenant_id = $1", tenant.id) == products_before
        )


# Authentication ------------------------------------------------------------------------------------------


async def test_a_movement_that_would_take_a_level_past_what_it_keeps_is_refused_and_changes_nothing(http, make_tenant):
    tenant = await make_tenant()
    headers = tenant.headers()
    product, warehouse = str(tenant.products[0]), str(tenant.warehouses[0])
    body = {"type": "receipt", "product_id": product, "warehouse_id": warehouse, "quantity": "90000000000000"}
    assert (await http.post("/api/v1/stock-movements", json=body, headers=headers)).status_code == 201
    refused = await http.post("/api/v1/stock-movements", json=body, headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (400, "too_large"), refused.text
    assert "past the largest quantity kept (10^14)" in refused.json()["message"]
    level = await http.get(f"/api/v1/stock-levels/{product}/{warehouse}", headers=headers)
    assert level.json()["on_hand"] == 9e13
