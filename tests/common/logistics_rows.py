"""One row in every purchasing and logistics table for a tenant, for the row-level security tests."""

from __future__ import annotations

import asyncpg

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


async def add_logistics_rows(conn: asyncpg.Connection, tenant) -> None:
    """Needs the tenant's supplier 'S1' (the RLS test creates it)."""
    t, product, warehouse = tenant.id, tenant.products[0], tenant.warehouses[0]
    supplier = await conn.fetchval("SELECT id FROM app.suppliers WHERE tenant_id = $1 AND code = 'S1'", t)
    await conn.execute(
        "INSERT INTO app.product_uom_conversions (tenant_id, product_id, uom, factor) VALUES ($1, $2, 'box', 10)",
        t,
        product,
    )
    lot = await conn.fetchval(
        "INSERT INTO app.stock_lots (tenant_id, product_id, lot_number) VALUES ($1, $2, 'L1') RETURNING id", t, product
    )
    order = await conn.fetchval(
        "INSERT INTO app.purchase_orders (tenant_id, supplier_id, warehouse_id, currency) "
        "VALUES ($1, $2, $3, 'EUR') RETURNING id",
        t,
        supplier,
        warehouse,
    )
    line = await conn.fetchval(
        "INSERT INTO app.purchase_order_lines (tenant_id, purchase_order_id, line_no, product_id, quantity, uom, "
        "uom_factor, quantity_base, unit_price) VALUES ($1, $2, 1, $3, 1, 'each', 1, 1, 1) RETURNING id",
        t,
        order,
        product,
    )
    receipt = await conn.fetchval(
        "INSERT INTO app.purchase_receipts (tenant_id, purchase_order_id) VALUES ($1, $2) RETURNING id", t, order
    )
    movement = await conn.fetchval(
        "INSERT INTO app.stock_movements (tenant_id, product_id, warehouse_id, movement_type, quantity, lot_id) "
        "VALUES ($1, $2, $3, 'receipt', 1, $4) RETURNING id",
        t,
        product,
        warehouse,
        lot,
    )
    await conn.execute(
        "INSERT INTO app.purchase_receipt_lines (tenant_id, receipt_id, purchase_order_line_id, quantity, "
        "quantity_base, lot_id, movement_id) VALUES ($1, $2, $3, 1, 1, $4, $5)",
        t,
        receipt,
        line,
        lot,
        movement,
    )
    await conn.execute(
        "INSERT INTO app.reorder_rules (tenant_id, product_id, warehouse_id, supplier_id, min_quantity, max_quantity) "
        "VALUES ($1, $2, $3, $4, 1, 2)",
        t,
        product,
        warehouse,
        supplier,
    )
    shipment = await conn.fetchval(
        "INSERT INTO app.shipments (tenant_id, direction, warehouse_id, carrier, tracking_number) "
        "VALUES ($1, 'inbound', $2, 'DHL', 'T1') RETURNING id",
        t,
        warehouse,
    )
    await conn.execute(
        "INSERT INTO app.shipment_lines (tenant_id, shipment_id, product_id, quantity) VALUES ($1, $2, $3, 1)",
        t,
        shipment,
        product,
    )
    await conn.execute(
        "INSERT INTO app.shipment_events (tenant_id, shipment_id, event_type, occurred_at, source) "
        "VALUES ($1, $2, 'created', now(), 'system')",
        t,
        shipment,
    )
    key = await conn.fetchval(
        "INSERT INTO app.carrier_webhook_keys (tenant_id, name, secret) VALUES ($1, 'DHL', '\\x00') RETURNING id", t
    )
    await conn.execute(
        "INSERT INTO app.carrier_webhook_deliveries (tenant_id, event_id, key_id, body_sha256, shipment_id) "
        "VALUES ($1, 'E1', $2, 'digest', $3)",
        t,
        key,
        shipment,
    )
    await conn.execute("INSERT INTO app.member_profiles (tenant_id, user_id) VALUES ($1, $2)", t, tenant.planner)
    note = await conn.fetchval(
        "INSERT INTO app.notifications (tenant_id, kind, title) VALUES ($1, 'test', 'hello') RETURNING id", t
    )
    await conn.execute(
        "INSERT INTO app.notification_reads (tenant_id, notification_id, user_id) VALUES ($1, $2, $3)",
        t,
        note,
        tenant.planner,
    )
