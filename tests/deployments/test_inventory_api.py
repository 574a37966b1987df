"""The inventory API end to end through Serve's HTTP port: flows, bad input, tenant isolation."""

from __future__ import annotations

import asyncio
import time
import uuid
from decimal import Decimal

import jwt
import pytest

from common.dev_tokens import issue_hs256_token


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


async def test_same_idempotency_key_twice_applies_the_movement_once(http, make_tenant):
    tenant = await make_tenant()
    headers = {**tenant.headers(), "Idempotency-Key": f"receipt-{uuid.uuid4()}"}
    body = {
        "type": "receipt",
        "product_id": str(tenant.products[0]),
        "warehouse_id": str(tenant.warehouses[0]),
        "quantity": 3,
    }
    first = await http.post("/api/v1/stock-movements", json=body, headers=headers)
    second = await http.post("/api/v1/stock-movements", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.json() == first.json()
    level = await http.get(f"/api/v1/stock-levels/{tenant.products[0]}/{tenant.warehouses[0]}", headers=headers)
    assert level.json()["on_hand"] == 3.0


async def test_concurrent_requests_with_one_idempotency_key_apply_once(http, make_tenant):
    tenant = await make_tenant()
    headers = {**tenant.headers(), "Idempotency-Key": f"burst-{uuid.uuid4()}"}
    body = {
        "type": "receipt",
        "product_id": str(tenant.products[0]),
        "warehouse_id": str(tenant.warehouses[0]),
        "quantity": 2,
    }
    responses = await asyncio.gather(
        *(http.post("/api/v1/stock-movements", json=body, headers=headers) for _ in range(8))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["movements"][0]["id"] for r in responses}) == 1
    level = await http.get(f"/api/v1/stock-levels/{tenant.products[0]}/{tenant.warehouses[0]}", headers=headers)
    assert level.json()["on_hand"] == 2.0


async def test_idempotency_key_reused_with_another_body_is_refused(http, make_tenant):
    tenant = await make_tenant()
    headers = {**tenant.headers(), "Idempotency-Key": f"reuse-{uuid.uuid4()}"}
    body = {
        "type": "receipt",
        "product_id": str(tenant.products[0]),
        "warehouse_id": str(tenant.warehouses[0]),
        "quantity": 2,
    }
    await http.post("/api/v1/stock-movements", json=body, headers=headers)
    changed = await http.post("/api/v1/stock-movements", json={**body, "quantity": 5}, headers=headers)
    assert changed.status_code == 422
    assert changed.json()["code"] == "idempotency_key_reused"


async def test_fifty_parallel_reservation_requests_against_ten_units_yield_ten_successes(http, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(10)})
    headers = tenant.headers()
    body = {"product_id": str(tenant.products[0]), "warehouse_id": str(tenant.warehouses[0]), "quantity": 1}
    responses = await asyncio.gather(
        *(http.post("/api/v1/reservations", json=body, headers=headers) for _ in range(50))
    )
    statuses = [r.status_code for r in responses]
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
        ("bad cursor", "GET", "/api/v1/products?cursor=not-a-cursor", None, {}, 400, "invalid_cursor"),
        ("page size too large", "GET", "/api/v1/products?limit=5000", None, {}, 422, "validation_error"),
        ("page size zero", "GET", "/api/v1/products?limit=0", None, {}, 422, "validation_error"),
        ("unknown sort field", "GET", "/api/v1/products?sort=price", None, {}, 400, "invalid_sort"),
        ("unknown filter", "GET", "/api/v1/products?colour=red", None, {}, 400, "unknown_parameter"),
        ("bad boolean filter", "GET", "/api/v1/products?active=maybe", None, {}, 400, "invalid_filter"),
        ("bad uuid filter", "GET", "/api/v1/stock-movements?product_id=xyz", None, {}, 400, "invalid_filter"),
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


def token_cases(tenant, secret: str) -> dict[str, str | None]:
    now = int(time.time())
    return {
        "missing": None,
        "expired": issue_hs256_token(secret, tenant.planner, expires_in_s=-60),
        "not yet valid": issue_hs256_token(secret, tenant.planner, extra_claims={"nbf": now + 600}),
        "wrong audience": issue_hs256_token(secret, tenant.planner, audience="anon"),
        "bad signature": issue_hs256_token("another-secret-entirely-0123456789abcdef", tenant.planner),
        "alg none": jwt.encode(
            {"sub": str(tenant.planner), "aud": "authenticated", "exp": now + 60}, None, algorithm="none"
        ),
        "garbage": "not.a.token",
        "subject not a uuid": issue_hs256_token(secret, "service-account"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "expired",
        "not yet valid",
        "wrong audience",
        "bad signature",
        "alg none",
        "garbage",
        "subject not a uuid",
    ],
)
async def test_invalid_tokens_get_401(http, make_tenant, settings, case):
    tenant = await make_tenant()
    token = token_cases(tenant, str(settings.jwt_secret))[case]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.get("/api/v1/products", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
async def test_asymmetric_tokens_verified_with_jwks_keys_are_accepted(http, make_tenant, signing_keys, alg):
    tenant = await make_tenant()
    now = int(time.time())
    token = signing_keys[alg].sign({"sub": str(tenant.planner), "aud": "authenticated", "exp": now + 300})
    response = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["tenant_id"] == str(tenant.id)


async def test_hs256_token_signed_with_the_public_key_is_rejected(http, make_tenant, signing_keys):
    tenant = await make_tenant()
    claims = {"sub": str(tenant.planner), "aud": "authenticated", "exp": int(time.time()) + 300}
    # Algorithm confusion: the attacker knows the public key and uses it as an HMAC secret.
    public_pem = signing_keys["RS256"].public_pem()
    header = {"alg": "HS256", "typ": "JWT", "kid": "serve-rsa"}
    token = _hmac_token(header, claims, public_pem)
    response = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_token_with_unknown_kid_is_rejected(http, make_tenant):
    from tests.common.jwks_server import make_ec_key

    tenant = await make_tenant()
    stranger = make_ec_key("not-published")
    token = stranger.sign({"sub": str(tenant.planner), "aud": "authenticated", "exp": int(time.time()) + 300})
    response = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["code"] == "unknown_key"


def _hmac_token(header: dict, claims: dict, secret: bytes) -> str:
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


async def test_valid_token_of_a_non_member_gets_403(http, settings):
    token = issue_hs256_token(str(settings.jwt_secret), uuid.uuid4())
    response = await http.get("/api/v1/products", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


# Tenant isolation through every endpoint -----------------------------------------------------------------


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
    response = await http.get("/readyz")
    assert response.status_code == 200


async def test_metrics_count_requests_by_route_template(http, make_tenant):
    tenant = await make_tenant()
    await http.get(f"/api/v1/products/{tenant.products[0]}", headers=tenant.headers())
    metrics = (await http.get("/metrics")).text
    assert 'chainsight_http_requests_total{method="GET",route="/api/v1/products/{item_id}",status="200"}' in metrics
    assert "chainsight_http_request_duration_seconds_bucket" in metrics


async def test_openapi_schema_lists_the_inventory_routes(http):
    schema = (await http.get("/openapi.json")).json()
    assert {"/api/v1/products", "/api/v1/stock-movements", "/api/v1/reservations"} <= set(schema["paths"])


async def test_request_id_from_the_client_is_echoed(http, make_tenant):
    tenant = await make_tenant()
    response = await http.get("/api/v1/me", headers={**tenant.headers(), "X-Request-Id": "trace-abc-123"})
    assert response.headers["x-request-id"] == "trace-abc-123"


async def test_a_request_id_is_generated_when_the_client_sends_none(http):
    response = await http.get("/healthz")
    assert response.headers.get("x-request-id")


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
