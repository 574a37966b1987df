"""One row in every purchasing and logistics table for a tenant, for the row-level security tests."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from tests.support.rows import insert

LOGISTICS_TABLES = [
    "product_uom_conversions",
    "stock_lots",
    "purchase_orders",
    "purchase_order_lines",
    "purchase_receipts",
    "purchase_receipt_lines",
    "reorder_rules",
    "shipments",
    "shipment_lines",
    "shipment_events",
    "member_profiles",
    "notifications",
    "notification_reads",
    "carrier_webhook_keys",
    "carrier_webhook_deliveries",
]


async def add_order_line(conn: asyncpg.Connection, tenant_id, supplier, warehouse, product) -> tuple:
    """An EUR purchase order with one line of one unit at 1; returns (order id, line id)."""
    order = await insert(
        conn, "purchase_orders", tenant_id=tenant_id, supplier_id=supplier, warehouse_id=warehouse, currency="EUR"
    )
    line = await insert(
        conn, "purchase_order_lines", tenant_id=tenant_id, purchase_order_id=order, line_no=1, product_id=product,
        quantity=1, uom="each", uom_factor=1, quantity_base=1, unit_price=1,
    )  # fmt: skip
    return order, line


async def add_logistics_rows(conn: asyncpg.Connection, tenant) -> None:
    """Needs the tenant's supplier 'S1' (the RLS test creates it)."""
    t, product, warehouse = tenant.id, tenant.products[0], tenant.warehouses[0]
    supplier = await conn.fetchval("SELECT id FROM app.suppliers WHERE tenant_id = $1 AND code = 'S1'", t)
    await insert(conn, "product_uom_conversions", tenant_id=t, product_id=product, uom="box", factor=10)
    lot = await insert(conn, "stock_lots", tenant_id=t, product_id=product, lot_number="L1")
    order, line = await add_order_line(conn, t, supplier, warehouse, product)
    receipt = await insert(conn, "purchase_receipts", tenant_id=t, purchase_order_id=order)
    movement = await insert(
        conn, "stock_movements", tenant_id=t, product_id=product, warehouse_id=warehouse, movement_type="receipt",
        quantity=1, lot_id=lot,
    )  # fmt: skip
    await insert(
        conn, "purchase_receipt_lines", tenant_id=t, receipt_id=receipt, purchase_order_line_id=line, quantity=1,
        quantity_base=1, lot_id=lot, movement_id=movement,
    )  # fmt: skip
    await insert(
        conn, "reorder_rules", tenant_id=t, product_id=product, warehouse_id=warehouse, supplier_id=supplier,
        min_quantity=1, max_quantity=2,
    )  # fmt: skip
    shipment = await insert(
        conn, "shipments", tenant_id=t, direction="inbound", warehouse_id=warehouse, carrier="DHL",
        tracking_number="T1",
    )  # fmt: skip
    await insert(conn, "shipment_lines", tenant_id=t, shipment_id=shipment, product_id=product, quantity=1)
    await insert(
        conn, "shipment_events", tenant_id=t, shipment_id=shipment, event_type="created",
        occurred_at=datetime.now(UTC), source="system",
    )  # fmt: skip
    key = await insert(conn, "carrier_webhook_keys", tenant_id=t, name="DHL", secret=b"\x00")
    await insert(
        conn, "carrier_webhook_deliveries", tenant_id=t, event_id="E1", key_id=key, body_sha256="digest",
        shipment_id=shipment,
    )  # fmt: skip
    await insert(conn, "member_profiles", tenant_id=t, user_id=tenant.planner)
    note = await insert(conn, "notifications", tenant_id=t, kind="test", title="hello")
    await insert(conn, "notification_reads", tenant_id=t, notification_id=note, user_id=tenant.planner)
