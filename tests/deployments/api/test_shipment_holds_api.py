"""An outbound shipment holds its stock from creation; its delivery takes the hold (one issue), cancelling gives
it back. Until 2026-12-08 goods with the carrier still read as available, and a shipment of an order's hold issued
twice."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

API = "/api/v1"


async def level(http, tenant, product: int = 0) -> tuple[float, float, float]:
    found = await http.get(
        f"{API}/stock-levels/{tenant.products[product]}/{tenant.warehouses[0]}", headers=tenant.headers()
    )
    body = found.json()
    return float(body["on_hand"]), float(body["reserved"]), float(body["available"])


async def hold(http, tenant, quantity: float, product: int = 0, **extra: object):
    body = {
        "product_id": str(tenant.products[product]),
        "warehouse_id": str(tenant.warehouses[0]),
        "quantity": quantity,
    }
    return await http.post(f"{API}/reservations", json={**body, **extra}, headers=tenant.headers())


async def ship(http, tenant, *lines: dict):
    body = {
        "direction": "outbound",
        "warehouse_id": str(tenant.warehouses[0]),
        "carrier": "DHL",
        "tracking_number": "T" + uuid.uuid4().hex[:10],
        "lines": list(lines),
    }
    return await http.post(f"{API}/shipments", json=body, headers=tenant.headers())


def line(tenant, quantity: float, product: int = 0, reservation_id: str | None = None) -> dict:
    body: dict = {"product_id": str(tenant.products[product]), "quantity": quantity}
    return {**body, "reservation_id": reservation_id} if reservation_id else body


async def deliver(http, tenant, shipment_id: str):
    return await http.post(
        f"{API}/shipments/{shipment_id}/events", json={"type": "delivered"}, headers=tenant.headers()
    )


async def issues(http, tenant) -> list[float]:
    params = {"product_id": str(tenant.products[0]), "movement_type": "issue"}
    found = await http.get(f"{API}/stock-movements", params=params, headers=tenant.headers())
    return [float(m["quantity"]) for m in found.json()["items"]]


async def test_stock_on_a_shipment_under_way_is_held_so_no_other_hold_takes_it(http, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(10)})
    shipped = await ship(http, tenant, line(tenant, 10))
    assert shipped.status_code == 201, shipped.text
    assert await level(http, tenant) == (10.0, 10.0, 0.0)
    picked = {"type": "picked_up"}
    assert (
        await http.post(f"{API}/shipments/{shipped.json()['id']}/events", json=picked, headers=tenant.headers())
    ).status_code == 201
    other = await hold(http, tenant, 10)
    assert (other.status_code, other.json()["code"]) == (409, "insufficient_stock")
    delivered = await deliver(http, tenant, shipped.json()["id"])
    assert delivered.status_code == 201, delivered.text
    assert delivered.json()["stock_issued_at"] is not None
    assert await level(http, tenant) == (0.0, 0.0, 0.0)
    assert await issues(http, tenant) == [-10.0]


async def test_a_shipment_of_an_orders_hold_issues_it_once_and_the_hold_is_fulfilled(http, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(10)})
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    order_hold = (await hold(http, tenant, 10, reference="SO-1", expires_at=soon)).json()
    shipped = await ship(http, tenant, line(tenant, 10, reservation_id=order_hold["id"]))
    assert shipped.status_code == 201, shipped.text
    assert shipped.json()["lines"][0]["reservation_id"] == order_hold["id"]
    assert await level(http, tenant) == (10.0, 10.0, 0.0)  # the order's hold, not a second one
    held = (await http.get(f"{API}/reservations/{order_hold['id']}", headers=tenant.headers())).json()
    assert held["expires_at"] is None  # promised to the carrier: it no longer expires
    for action in ("fulfil", "release"):
        refused = await http.post(f"{API}/reservations/{order_hold['id']}/{action}", headers=tenant.headers())
        assert (refused.status_code, refused.json()["code"]) == (409, "reservation_on_shipment")
    assert (await deliver(http, tenant, shipped.json()["id"])).status_code == 201
    assert await level(http, tenant) == (0.0, 0.0, 0.0)
    assert await issues(http, tenant) == [-10.0]
    after = (await http.get(f"{API}/reservations/{order_hold['id']}", headers=tenant.headers())).json()
    assert after["status"] == "fulfilled"
    again = await http.post(f"{API}/reservations/{order_hold['id']}/fulfil", headers=tenant.headers())
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")


async def test_a_shipment_of_part_of_a_hold_leaves_the_rest_held_for_its_order(http, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(10)})
    order_hold = (await hold(http, tenant, 10, reference="SO-2")).json()
    first = await ship(http, tenant, line(tenant, 6, reservation_id=order_hold["id"]))
    assert first.status_code == 201, first.text
    too_much = await ship(http, tenant, line(tenant, 5, reservation_id=order_hold["id"]))
    assert (too_much.status_code, too_much.json()["code"]) == (409, "reservation_too_small")
    assert (await ship(http, tenant, line(tenant, 4, reservation_id=order_hold["id"]))).status_code == 201
    assert (await deliver(http, tenant, first.json()["id"])).status_code == 201
    assert await level(http, tenant) == (4.0, 4.0, 0.0)
    rest = (await http.get(f"{API}/reservations/{order_hold['id']}", headers=tenant.headers())).json()
    assert (rest["status"], float(rest["quantity"])) == ("active", 4.0)


async def test_a_hold_of_another_product_is_refused_for_a_line(http, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(10), 1: Decimal(10)})
    other = (await hold(http, tenant, 5, product=1)).json()
    refused = await ship(http, tenant, line(tenant, 5, reservation_id=other["id"]))
    assert (refused.status_code, refused.json()["code"]) == (400, "reservation_mismatch")
    unknown = await ship(http, tenant, line(tenant, 5, reservation_id=str(uuid.uuid4())))
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_reservation")


async def test_a_shipment_of_more_than_is_available_is_refused_and_holds_nothing(http, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(3), 1: Decimal(5)})
    refused = await ship(http, tenant, line(tenant, 5, product=1), line(tenant, 4))
    assert (refused.status_code, refused.json()["code"]) == (409, "insufficient_stock")
    assert "only 3.0000 of product" in refused.json()["message"]
    assert await level(http, tenant, 1) == (5.0, 0.0, 5.0)


async def test_two_shipments_at_once_for_the_last_units_one_is_refused(http, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(5)})
    answers = await asyncio.gather(*(ship(http, tenant, line(tenant, 4)) for _ in range(2)))
    assert sorted(a.status_code for a in answers) == [201, 409]
    assert await level(http, tenant) == (5.0, 4.0, 1.0)


async def test_cancelling_releases_the_holds_it_placed_and_gives_an_orders_hold_back(http, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(10), 1: Decimal(5)})
    order_hold = (await hold(http, tenant, 6, reference="SO-3")).json()
    shipped = await ship(http, tenant, line(tenant, 6, reservation_id=order_hold["id"]), line(tenant, 5, product=1))
    assert shipped.status_code == 201, shipped.text
    assert await level(http, tenant, 1) == (5.0, 5.0, 0.0)
    path = f"{API}/shipments/{shipped.json()['id']}"
    cancelled = await http.post(f"{path}/cancel", headers=tenant.headers())
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    assert await level(http, tenant, 1) == (5.0, 0.0, 5.0)
    assert await level(http, tenant) == (10.0, 6.0, 4.0)  # the order keeps its hold
    again = await http.post(f"{path}/cancel", headers=tenant.headers())
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")
    late = await deliver(http, tenant, shipped.json()["id"])
    assert (late.status_code, late.json()["code"]) == (409, "shipment_cancelled")
    released = await http.post(f"{API}/reservations/{order_hold['id']}/release", headers=tenant.headers())
    assert released.status_code == 200, released.text
    listed = await http.get(f"{API}/shipments", params={"status": "cancelled"}, headers=tenant.headers())
    assert [s["id"] for s in listed.json()["items"]] == [shipped.json()["id"]]


async def test_a_delivered_shipment_cannot_be_cancelled(http, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(10)})
    shipped = (await ship(http, tenant, line(tenant, 2))).json()
    assert (await deliver(http, tenant, shipped["id"])).status_code == 201
    refused = await http.post(f"{API}/shipments/{shipped['id']}/cancel", headers=tenant.headers())
    assert (refused.status_code, refused.json()["code"]) == (409, "shipment_delivered")
    assert await level(http, tenant) == (8.0, 0.0, 8.0)


async def test_a_shipment_the_carrier_has_cannot_be_cancelled_so_its_goods_stay_held(http, make_tenant):
    # Before (16dba01, for a few hours of 2026-12-08) a picked-up shipment could be cancelled: its holds were
    # released and the goods with the carrier were free to hold or sell again.
    tenant = await make_tenant(stock={0: Decimal(10)})
    shipped = (await ship(http, tenant, line(tenant, 10))).json()
    events = f"{API}/shipments/{shipped['id']}/events"
    assert (await http.post(events, json={"type": "picked_up"}, headers=tenant.headers())).status_code == 201
    refused = await http.post(f"{API}/shipments/{shipped['id']}/cancel", headers=tenant.headers())
    assert (refused.status_code, refused.json()["code"]) == (409, "shipment_under_way")
    assert await level(http, tenant) == (10.0, 10.0, 0.0)


async def test_an_event_dated_more_than_a_day_before_the_shipment_was_created_is_refused(http, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(10)})
    shipped = (await ship(http, tenant, line(tenant, 2))).json()
    path = f"{API}/shipments/{shipped['id']}/events"
    old = {"type": "delivered", "occurred_at": "1950-01-01T00:00:00Z"}
    refused = await http.post(path, json=old, headers=tenant.headers())
    assert (refused.status_code, refused.json()["code"]) == (422, "validation_error")
    assert "more than a day before shipment" in refused.json()["message"]
    assert await level(http, tenant) == (10.0, 2.0, 8.0)
    skewed = (datetime.now(UTC) - timedelta(hours=20)).isoformat()  # a carrier's clock a few hours off
    assert (
        await http.post(path, json={"type": "picked_up", "occurred_at": skewed}, headers=tenant.headers())
    ).status_code == 201
