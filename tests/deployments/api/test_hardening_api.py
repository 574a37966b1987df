"""Requests that try to bend the rules (in process): reservations that expire in the past, another tenant's
product, another member's idempotency key."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal


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


async def test_a_retried_hold_replays_its_answer_after_its_expiry_has_passed(http, make_tenant):
    # Before, the body's check ("expires_at must be in the future") ran before the key's replay: a 422 for a
    # client whose first attempt had placed the hold.
    tenant = await make_tenant(stock={0: Decimal(5)})
    expires_at = datetime.now(UTC) + timedelta(seconds=1)
    body = {"product_id": str(tenant.products[0]), "warehouse_id": str(tenant.warehouses[0]), "quantity": 2,
            "expires_at": expires_at.isoformat()}  # fmt: skip
    headers = {**tenant.headers(), "Idempotency-Key": f"hold-{uuid.uuid4()}"}
    held = await http.post("/api/v1/reservations", json=body, headers=headers)
    assert held.status_code == 201, held.text
    await asyncio.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()) + 0.05)
    retried = await http.post("/api/v1/reservations", json=body, headers=headers)
    assert (retried.status_code, retried.headers.get("idempotent-replayed")) == (201, "true"), retried.text
    assert retried.json() == held.json()


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
