"""Demo purchasing and logistics data for the Northwind tenant: reorder rules, purchase orders in several
states, and shipments with tracking timelines. Plain inserts in the seeding transaction (fast)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

import asyncpg

# (sku, warehouse, supplier, min, max, multiple)
_RULES = [
    ("FST-M6-20", "BER-01", "SUP-WURTH", 2000, 6000, 500),
    ("FST-NUT-M6", "BER-01", "SUP-WURTH", 2500, 8000, 1000),
    ("ELC-MCU-F4", "RTM-01", "SUP-ARROW", 400, 1200, 100),
    ("ELC-PSU-24", "RTM-01", "SUP-MEANWELL", 150, 400, 25),
    ("RAW-AL-6061", "LYS-01", "SUP-NORSK", 1500, 4000, 250),
    ("SPR-BRG-6204", "BER-01", "SUP-SKF", 10, 30, 5),
]


async def seed_logistics(
    conn: asyncpg.Connection, tenant_id: UUID, user_id: UUID, demo_id: Callable[[str], UUID], now: datetime
) -> None:
    def product(sku: str) -> UUID:
        return demo_id(f"product:{sku}")

    def warehouse(code: str) -> UUID:
        return demo_id(f"warehouse:{code}")

    def supplier(code: str) -> UUID:
        return demo_id(f"supplier:{code}")

    await conn.executemany(
        "INSERT INTO app.reorder_rules (tenant_id, product_id, warehouse_id, supplier_id, min_quantity, "
        "max_quantity, order_multiple) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [(tenant_id, product(s), warehouse(w), supplier(p), lo, hi, m) for s, w, p, lo, hi, m in _RULES],
    )
    await conn.execute(
        "INSERT INTO app.product_uom_conversions (tenant_id, product_id, uom, factor) VALUES ($1, $2, 'box', 500)",
        tenant_id,
        product("FST-M6-20"),
    )
    orders = [
        ("po:issued", "SUP-ARROW", "RTM-01", "issued", "FOB", [("ELC-MCU-F4", "each", 1, 600, Decimal("7.60"))]),
        ("po:draft", "SUP-WURTH", "BER-01", "draft", "DAP", [("FST-M6-20", "box", 500, 8, Decimal("29.00"))]),
    ]
    for key, sup, wh, status, incoterm, lines in orders:
        order_id = demo_id(key)
        await conn.execute(
            "INSERT INTO app.purchase_orders (id, tenant_id, supplier_id, warehouse_id, currency, expected_date, "
            "incoterm, created_by, issued_at) "
            "VALUES ($1, $2, $3, $4, 'EUR', $5, $6, $7, CASE WHEN $8 = 'issued' THEN now() END)",
            order_id,
            tenant_id,
            supplier(sup),
            warehouse(wh),
            (now + timedelta(days=14)).date(),
            incoterm,
            user_id,
            status,
        )
        if status != "draft":
            await conn.execute("UPDATE app.purchase_orders SET status = $2 WHERE id = $1", order_id, status)
        await conn.executemany(
            "INSERT INTO app.purchase_order_lines (tenant_id, purchase_order_id, line_no, product_id, quantity, "
            "uom, uom_factor, quantity_base, unit_price) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            [
                (tenant_id, order_id, n, product(sku), qty, uom, factor, qty * factor, price)
                for n, (sku, uom, factor, qty, price) in enumerate(lines, start=1)
            ],
        )
    shipments = [
        ("shipment:inbound", "inbound", "RTM-01", demo_id("po:issued"), None, "Maersk", "MAEU1234567", "in_transit"),
        ("shipment:outbound", "outbound", "BER-01", None, "SO-20417", "DHL", "JD014600006281", "picked_up"),
    ]
    for key, direction, wh, order, reference, carrier, tracking, status in shipments:
        shipment_id = demo_id(key)
        await conn.execute(
            "INSERT INTO app.shipments (id, tenant_id, direction, status, warehouse_id, purchase_order_id, "
            "order_reference, carrier, tracking_number, expected_delivery, created_by) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            shipment_id,
            tenant_id,
            direction,
            status,
            warehouse(wh),
            order,
            reference,
            carrier,
            tracking,
            (now + timedelta(days=5)).date(),
            user_id,
        )
        if direction == "outbound":
            await conn.execute(
                "INSERT INTO app.shipment_lines (tenant_id, shipment_id, product_id, quantity) "
                "VALUES ($1, $2, $3, 120)",
                tenant_id,
                shipment_id,
                product("FST-M6-20"),
            )
        timeline = ["created", "picked_up", "in_transit"][: ["created", "picked_up", "in_transit"].index(status) + 1]
        await conn.executemany(
            "INSERT INTO app.shipment_events (tenant_id, shipment_id, event_type, occurred_at, source) "
            "VALUES ($1, $2, $3, $4, 'system')",
            [
                (tenant_id, shipment_id, kind, now - timedelta(hours=12 * (len(timeline) - i)))
                for i, kind in enumerate(timeline)
            ],
        )
