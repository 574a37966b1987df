"""Concurrent stock writes that touch several levels take their locks in one order (product, then warehouse), so
two of them listing the same products in opposite orders queue instead of deadlocking (in process)."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

API = "/api/v1"


async def issued_orders(http, tenant, orders: int, reverse_every_other: bool, descending: bool = False) -> list[dict]:
    headers = tenant.headers()
    supplier = await http.post(f"{API}/suppliers", json={"code": "SUP-LOCK", "name": "S"}, headers=headers)
    assert supplier.status_code == 201, supplier.text
    ascending = sorted(tenant.products, key=str)
    made = []
    for k in range(orders):
        products = ascending[::-1] if descending or (reverse_every_other and k % 2) else ascending
        body = {
            "supplier_id": supplier.json()["id"],
            "warehouse_id": str(tenant.warehouses[0]),
            "currency": "EUR",
            "incoterm": "DAP",
            "lines": [{"product_id": str(product), "quantity": 5, "unit_price": 1} for product in products],
        }
        order = await http.post(f"{API}/purchase-orders", json=body, headers=headers)
        assert order.status_code == 201, order.text
        issued = await http.post(f"{API}/purchase-orders/{order.json()['id']}/issue", headers=headers)
        assert issued.status_code == 200, issued.text
        made.append(order.json())
    return made


def receive_all(http, tenant, order: dict):
    lines = [{"line_id": line["id"], "quantity": 5} for line in order["lines"]]
    return http.post(f"{API}/purchase-orders/{order['id']}/receipts", json={"lines": lines}, headers=tenant.headers())


async def on_hand(owner_pool, tenant) -> dict[uuid.UUID, Decimal]:
    async with owner_pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT product_id, on_hand FROM app.stock_levels WHERE tenant_id = $1 AND warehouse_id = $2",
            tenant.id,
            tenant.warehouses[0],
        )
    return {row["product_id"]: row["on_hand"] for row in rows}


async def test_receipts_listing_the_same_products_in_opposite_orders_all_land(http, make_tenant, owner_pool):
    # Once with levels the receipts create, once with levels that exist: neither may deadlock.
    for opening in (None, {0: Decimal(7), 1: Decimal(7)}):
        tenant = await make_tenant(stock=opening)
        orders = await issued_orders(http, tenant, 12, reverse_every_other=True)
        responses = await asyncio.gather(*(receive_all(http, tenant, order) for order in orders))
        assert [r.status_code for r in responses] == [201] * 12, [r.text for r in responses if r.status_code != 201]
        for order, response in zip(orders, responses, strict=True):
            # The receipt reads its lines back in the order the request gave them, whatever order locked them.
            got = [line["purchase_order_line_id"] for line in response.json()["receipt"]["lines"]]
            assert got == [line["id"] for line in order["lines"]]
        start = Decimal(7) if opening else Decimal(0)
        assert await on_hand(owner_pool, tenant) == {product: start + 60 for product in tenant.products}


async def test_receipts_and_deliveries_of_the_same_products_in_opposite_orders_all_land(http, make_tenant, owner_pool):
    tenant = await make_tenant(stock={0: Decimal(1000), 1: Decimal(1000)})
    headers = tenant.headers()
    orders = await issued_orders(http, tenant, 6, reverse_every_other=False, descending=True)
    shipments = []
    for k in range(6):
        body = {
            "direction": "outbound",
            "warehouse_id": str(tenant.warehouses[0]),
            "carrier": "DHL",
            "tracking_number": f"LOCK{k}X{uuid.uuid4().hex[:6]}",
            "lines": [{"product_id": str(product), "quantity": 1} for product in sorted(tenant.products, key=str)],
        }
        created = await http.post(f"{API}/shipments", json=body, headers=headers)
        assert created.status_code == 201, created.text
        shipments.append(created.json())
    jobs = []
    for order, shipment in zip(orders, shipments, strict=True):
        jobs.append(receive_all(http, tenant, order))
        jobs.append(http.post(f"{API}/shipments/{shipment['id']}/events", json={"type": "delivered"}, headers=headers))
    responses = await asyncio.gather(*jobs)
    assert [r.status_code for r in responses] == [201] * 12, [r.text for r in responses if r.status_code != 201]
    assert await on_hand(owner_pool, tenant) == {product: Decimal(1000 + 30 - 6) for product in tenant.products}
