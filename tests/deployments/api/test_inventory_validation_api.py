"""Bad requests to the inventory API (in process) get precise 4xx errors and change nothing."""

from __future__ import annotations

import base64
import uuid
from decimal import Decimal


def cursor(raw: bytes) -> str:
    """``raw`` as the API encodes a cursor: base64url without padding."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def post(
    label: str, path: str, body: dict | str | list, status: int = 422, code: str = "validation_error", headers=None
):
    """A bad request that POSTs ``body`` (a string: sent as it is) to ``path``, answered ``status`` ``code``."""
    return label, "POST", path, body, headers or {}, status, code


def get(label: str, path: str, status: int, code: str, headers=None):
    """A bad request that GETs ``path``, answered ``status`` ``code``."""
    return label, "GET", path, None, headers or {}, status, code


def bad_requests(tenant, other) -> list[tuple[str, str, str, dict | str | None, dict, int, str]]:
    p, w, w2 = str(tenant.products[0]), str(tenant.warehouses[0]), str(tenant.warehouses[1])
    move = "/api/v1/stock-movements"

    def movement(**changes):  # a receipt the API would take but for ``changes``
        return {"type": "receipt", "product_id": p, "warehouse_id": w, "quantity": 1, **changes}

    return [
        post("malformed JSON", move, '{"type": "receipt",', 400, "malformed_json"),
        post("unknown field", move, movement(colour="red")),
        post("unknown movement type", move, {"type": "teleport", "product_id": p, "quantity": 1}),
        post("negative quantity", move, movement(quantity=-5)),
        post("zero quantity", move, movement(type="issue", quantity=0)),
        post("non-numeric quantity", move, movement(quantity="lots")),
        post("NaN quantity", move, movement(quantity="NaN")),
        post("too many decimals", move, movement(quantity="1.123456")),
        post("product id not a uuid", move, movement(product_id="abc")),
        post("unknown product", move, movement(product_id=str(uuid.uuid4())), 404, "unknown_product"),
        post(
            "other tenant's warehouse",
            move,
            movement(warehouse_id=str(other.warehouses[0])),
            404,
            "unknown_warehouse",
        ),
        post(
            "transfer to same warehouse",
            move,
            {"type": "transfer", "product_id": p, "from_warehouse_id": w, "to_warehouse_id": w, "quantity": 1},
        ),
        post("adjustment without reason", move, movement(type="adjustment", warehouse_id=w2)),
        post("timestamp without timezone", move, movement(occurred_at="2026-01-01T10:00")),
        post("timestamp before 1900", move, movement(occurred_at="0001-01-01T00:00+14:00")),
        post("timestamp in the future", move, movement(occurred_at="9999-01-01T00:00Z")),
        post("issue beyond stock", move, movement(type="issue"), 409, "insufficient_stock"),
        post("body is a list", move, [1, 2]),
        post("empty idempotency key", move, movement(), headers={"Idempotency-Key": ""}),
        post("duplicate sku", "/api/v1/products", {"sku": "SKU-0", "name": "dup"}, 409, "duplicate"),
        post("sku with spaces", "/api/v1/products", {"sku": "a b", "name": "x"}),
        post("negative unit cost", "/api/v1/products", {"sku": "NC", "name": "x", "unit_cost": -1}),
        post("name wrong type", "/api/v1/products", {"sku": "NT", "name": 42}),
        ("empty patch", "PATCH", f"/api/v1/products/{p}", {}, {}, 422, "validation_error"),
        ("null name in patch", "PATCH", f"/api/v1/products/{p}", {"name": None}, {}, 422, "validation_error"),
        post("bad country code", "/api/v1/suppliers", {"code": "S", "name": "s", "country": "Germany"}),
        post(
            "unknown warehouse time zone",
            "/api/v1/warehouses",
            {"code": "TZ-1", "name": "Mars base", "timezone": "Mars/Olympus"},
        ),
        get("bad cursor", "/api/v1/products?cursor=not-a-cursor", 400, "invalid_cursor"),
        # a number where the id goes was a 500
        get(
            "edited cursor",
            "/api/v1/products?cursor=" + cursor(b'{"k":"sku","d":false,"v":"A","id":1}'),
            400,
            "invalid_cursor",
        ),
        # before year 1 in UTC, was a 422
        get(
            "cursor time out of range",
            "/api/v1/notifications?cursor="
            + cursor(
                b'{"k":"created_at","d":true,"v":"0001-01-01T00:00:00+01:00","id":"00000000-0000-0000-0000-000000000001"}'
            ),
            400,
            "invalid_cursor",
        ),
        # 1,490 nested brackets: json gave up with a RecursionError, a 500
        get("nested cursor", "/api/v1/stock-movements?cursor=" + cursor(b"[" * 1490), 400, "invalid_cursor"),
        # NaN sorts past every number: an empty last page
        get(
            "NaN cursor",
            "/api/v1/stock-levels?sort=available&cursor="
            + cursor(b'{"k":"available","d":false,"v":"NaN","id":"00000000-0000-0000-0000-000000000001"}'),
            400,
            "invalid_cursor",
        ),
        get("page size too large", "/api/v1/products?limit=5000", 422, "validation_error"),
        get("page size zero", "/api/v1/products?limit=0", 422, "validation_error"),
        get("unknown sort field", "/api/v1/products?sort=price", 400, "invalid_sort"),
        get("unknown filter", "/api/v1/products?colour=red", 400, "unknown_parameter"),
        get("text search where a list has none", "/api/v1/stock-levels?q=bolt", 400, "unknown_parameter"),
        get(
            "text search where an export has none", "/api/v1/exports/stock-levels.pdf?q=bolt", 400, "unknown_parameter"
        ),
        get("bad boolean filter", "/api/v1/products?active=maybe", 400, "invalid_filter"),
        get("bad uuid filter", "/api/v1/stock-movements?product_id=xyz", 400, "invalid_filter"),
        # a text filter's value no row can hold listed nothing (200, no items; an export of its header alone)
        get("unknown purchase order status", "/api/v1/purchase-orders?status=open", 400, "invalid_filter"),
        get("status in capitals", "/api/v1/purchase-orders?status=Issued", 400, "invalid_filter"),
        get("unknown status in an export", "/api/v1/exports/purchase-orders.csv?status=open", 400, "invalid_filter"),
        get("currency in lower case", "/api/v1/purchase-orders?currency=eur", 400, "invalid_filter"),
        get("unknown shipment direction", "/api/v1/shipments?direction=in", 400, "invalid_filter"),
        get("unknown shipment status", "/api/v1/exports/shipments.xlsx?status=in-transit", 400, "invalid_filter"),
        get("unknown reservation status", "/api/v1/reservations?status=open", 400, "invalid_filter"),
        get("unknown movement type", f"{move}?movement_type=receipts", 400, "invalid_filter"),
        get("movement type as posted", f"{move}?movement_type=transfer", 400, "invalid_filter"),
        get("country in lower case", "/api/v1/suppliers?country=de", 400, "invalid_filter"),
        get("country of three letters", "/api/v1/warehouses?country=DEU", 400, "invalid_filter"),
        get("unknown role", "/api/v1/members?role=owner", 400, "invalid_filter", headers=tenant.admin_headers()),
        get("time filter without offset", f"{move}?occurred_from=2026-01-01T10:00", 400, "invalid_filter"),
        get("number filter not a number", "/api/v1/stock-levels?available_below=NaN", 400, "invalid_filter"),
        # asyncpg wrapped it round to a tiny number (200, nothing listed)
        get("number filter past any range", "/api/v1/stock-levels?available_below=1e140000", 400, "invalid_filter"),
        # asyncpg refused it: 422 invalid_value with the driver's message
        get("number filter too fine", "/api/v1/stock-levels?available_below=1e-20000", 400, "invalid_filter"),
        get("path id not a uuid", "/api/v1/products/123", 422, "validation_error"),
        get("bad tenant header", "/api/v1/products", 400, "invalid_tenant_id", headers={"X-Tenant-Id": "nope"}),
        get("foreign tenant header", "/api/v1/products", 403, "forbidden", headers={"X-Tenant-Id": str(other.id)}),
        get("unknown route", "/api/v1/nothing-here", 404, "not_found"),
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


async def test_a_delete_refused_for_a_row_in_use_names_what_uses_it(http, make_tenant):
    # Until 2026-12-07 every refusal said "has stock history", also for a product only on a draft order's line.
    tenant = await make_tenant()
    headers = tenant.headers()
    supplier = (await http.post("/api/v1/suppliers", json={"code": "S1", "name": "S"}, headers=headers)).json()["id"]
    line = {"product_id": str(tenant.products[0]), "quantity": 1, "unit_price": 1}
    order = {"supplier_id": supplier, "warehouse_id": str(tenant.warehouses[0]), "lines": [line]}
    assert (await http.post("/api/v1/purchase-orders", json=order, headers=headers)).status_code == 201
    for path, used_by in [
        (f"/api/v1/products/{tenant.products[0]}", "purchase order lines"),
        (f"/api/v1/suppliers/{supplier}", "purchase orders"),
    ]:
        refused = await http.delete(path, headers=headers)
        assert (refused.status_code, refused.json()["code"]) == (409, "in_use"), refused.text
        assert f"is used by {used_by} and cannot be deleted; set active to false instead" in refused.json()["message"]
        assert (await http.get(path, headers=headers)).status_code == 200


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


async def test_a_malformed_movement_is_refused_for_what_is_wrong_with_its_own_type(http, make_tenant):
    # Until 2026-12-07 the body lost its discriminator: pydantic tried every movement type and the message named
    # another type's field ("body.function-after[_aware(), ReceiptCreate].type: Input should be 'receipt'").
    tenant = await make_tenant()
    product, warehouse = str(tenant.products[0]), str(tenant.warehouses[0])
    for body, expected in [
        ({"type": "adjustment", "quantity": 0, "reason": "count"}, "an adjustment quantity must not be zero"),
        ({"type": "issue", "quantity": -1}, "quantity"),
        ({"type": "transfer", "quantity": 1, "to_warehouse_id": warehouse}, "from_warehouse_id"),
    ]:
        body = {"product_id": product, "warehouse_id": warehouse, **body}
        if body["type"] == "transfer":
            del body["warehouse_id"]
        refused = await http.post("/api/v1/stock-movements", json=body, headers=tenant.headers())
        assert (refused.status_code, refused.json()["code"]) == (422, "validation_error"), refused.text
        message = refused.json()["message"]
        assert expected in message, message
        assert "function-after" not in message and "Create" not in message, message
        assert len(refused.json()["details"]) == 1, refused.text  # one error, of the type asked for


async def test_a_hold_expiring_past_the_planning_horizon_is_refused_for_its_expires_at(http, make_tenant, owner_pool):
    # Until 2026-12-07 9999-12-31T23:59:59-14:00 (year 10000 in UTC) reached the database: 422 "the database
    # refused a value: invalid input for query argument $6 ... (date value out of range)".
    tenant = await make_tenant(stock={0: Decimal(10)})
    hold = {"product_id": str(tenant.products[0]), "warehouse_id": str(tenant.warehouses[0]), "quantity": 1}
    for expires_at in ("9999-12-31T23:59:59-14:00", "2200-01-01T00:00:00Z", "2199-12-31T23:00:00-01:00"):
        refused = await http.post(
            "/api/v1/reservations", json={**hold, "expires_at": expires_at}, headers=tenant.headers()
        )
        assert (refused.status_code, refused.json()["code"]) == (422, "validation_error"), refused.text
        assert "expires_at" in refused.json()["message"] and "2199-12-31" in refused.json()["message"], refused.text
    for expires_at in ("2199-12-31T23:59:59Z", "2199-12-31T23:59:59+14:00"):
        placed = await http.post(
            "/api/v1/reservations", json={**hold, "expires_at": expires_at}, headers=tenant.headers()
        )
        assert placed.status_code == 201, placed.text
    async with owner_pool.acquire() as conn:
        assert await conn.fetchval("SELECT reserved FROM app.stock_levels WHERE tenant_id = $1", tenant.id) == 2
