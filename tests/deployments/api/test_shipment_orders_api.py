"""An inbound shipment brings an issued order to its warehouse with its products; an order is not cancelled under a
shipment bringing it, and a cancelled shipment leaves the copilot's shipments under way. Until 2026-12-08 a shipment
took any order (cancelled, a draft, another warehouse, products not on it) and could never be cancelled."""

from __future__ import annotations

import uuid
from datetime import date

from inventory.open_shipments import open_shipments

API = "/api/v1"


async def order(http, tenant, *, issue: bool = True) -> dict:
    supplier = await http.post(
        f"{API}/suppliers", json={"code": "S-" + uuid.uuid4().hex[:6], "name": "S"}, headers=tenant.headers()
    )
    line = {"product_id": str(tenant.products[0]), "quantity": 5, "unit_price": 1}
    body = {"supplier_id": supplier.json()["id"], "warehouse_id": str(tenant.warehouses[0]), "lines": [line]}
    created = (await http.post(f"{API}/purchase-orders", json=body, headers=tenant.headers())).json()
    if issue:
        issued = await http.post(f"{API}/purchase-orders/{created['id']}/issue", headers=tenant.headers())
        assert issued.status_code == 200, issued.text
    return created


async def inbound(http, tenant, order_id: str, warehouse: int = 0, product: int | None = None):
    body: dict = {
        "direction": "inbound",
        "purchase_order_id": order_id,
        "warehouse_id": str(tenant.warehouses[warehouse]),
        "carrier": "DHL",
        "tracking_number": "IN" + uuid.uuid4().hex[:10],
        "expected_delivery": "2026-11-01",
    }
    if product is not None:
        body["lines"] = [{"product_id": str(tenant.products[product]), "quantity": 5}]
    return await http.post(f"{API}/shipments", json=body, headers=tenant.headers())


async def test_a_shipment_brings_only_an_issued_order(http, make_tenant):
    tenant = await make_tenant()
    draft = await order(http, tenant, issue=False)
    refused = await inbound(http, tenant, draft["id"])
    assert (refused.status_code, refused.json()["code"]) == (409, "invalid_state")
    assert f"purchase order {draft['number']} is draft" in refused.json()["message"]
    cancelled = await order(http, tenant)
    assert (await http.post(f"{API}/purchase-orders/{cancelled['id']}/cancel", headers=tenant.headers())).is_success
    refused = await inbound(http, tenant, cancelled["id"])
    assert (refused.status_code, refused.json()["code"]) == (409, "invalid_state")
    unknown = await inbound(http, tenant, str(uuid.uuid4()))
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_purchase_order")
    listed = await http.get(f"{API}/shipments", headers=tenant.headers())
    assert listed.json()["items"] == []


async def test_a_shipment_goes_to_its_orders_warehouse_with_its_products(http, make_tenant):
    tenant = await make_tenant()
    placed = await order(http, tenant)
    elsewhere = await inbound(http, tenant, placed["id"], warehouse=1)
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (400, "warehouse_mismatch")
    stray = await inbound(http, tenant, placed["id"], product=1)
    assert (stray.status_code, stray.json()["code"]) == (400, "product_not_on_order")
    assert "does not order SKU-1" in stray.json()["message"]
    assert (await inbound(http, tenant, placed["id"], product=0)).status_code == 201


async def test_an_order_is_not_cancelled_under_its_shipment_and_a_cancelled_shipment_is_not_under_way(
    http, make_tenant, owner_pool
):
    tenant = await make_tenant()
    placed = await order(http, tenant)
    shipped = (await inbound(http, tenant, placed["id"])).json()
    refused = await http.post(f"{API}/purchase-orders/{placed['id']}/cancel", headers=tenant.headers())
    assert (refused.status_code, refused.json()["code"]) == (409, "shipment_under_way")
    assert f"shipment {shipped['number']} (created): cancel it first" in refused.json()["message"]
    cancelled = await http.post(f"{API}/shipments/{shipped['id']}/cancel", headers=tenant.headers())
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    async with owner_pool.acquire() as conn:
        under_way = await open_shipments(conn, date(2026, 12, 8), purchase_order_ids=[uuid.UUID(placed["id"])])
    assert under_way == []
    done = await http.post(f"{API}/purchase-orders/{placed['id']}/cancel", headers=tenant.headers())
    assert (done.status_code, done.json()["status"]) == (200, "cancelled")


async def test_an_order_whose_shipment_was_delivered_is_not_cancelled(http, make_tenant):
    tenant = await make_tenant()
    placed = await order(http, tenant)
    shipped = (await inbound(http, tenant, placed["id"])).json()
    delivered = await http.post(
        f"{API}/shipments/{shipped['id']}/events", json={"type": "delivered"}, headers=tenant.headers()
    )
    assert delivered.status_code == 201, delivered.text
    refused = await http.post(f"{API}/purchase-orders/{placed['id']}/cancel", headers=tenant.headers())
    assert (refused.status_code, refused.json()["code"]) == (409, "shipment_under_way")
    assert "its goods have arrived: receive them" in refused.json()["message"]
    kept = await http.post(f"{API}/shipments/{shipped['id']}/cancel", headers=tenant.headers())
    assert (kept.status_code, kept.json()["code"]) == (409, "shipment_delivered")
