"""Copilot tools over what is coming in: open or late purchase orders and shipments under way."""

from __future__ import annotations

from typing import Any

import asyncpg

from copilot.tool_base import LATE_WORDS, MAX_ROWS, Tool, ToolContext, ToolResult, fmt
from inventory import purchasing, shipments
from risk import repository as risk_repository


async def _purchase_orders(context: ToolContext) -> ToolResult:
    """Open purchase orders (or the ones named), filtered by the suppliers or products named; "late" or
    "overdue" keeps only those past their expected date. Stored early warnings are added when present."""
    m = context.mentions
    late_only = context.asks(LATE_WORDS) and not m.purchase_orders
    orders = await purchasing.open_orders(
        context.conn,
        context.today,
        order_ids=[o["id"] for o in m.purchase_orders],
        supplier_ids=[] if m.purchase_orders else [s["id"] for s in m.suppliers],
        product_ids=[] if m.purchase_orders or m.suppliers else [p["id"] for p in m.products],
        late_only=late_only,
        limit=MAX_ROWS,
    )
    warnings = await risk_repository.stored_order_warnings(context.conn, [o["id"] for o in orders])
    arguments: dict[str, Any] = {"late_only": late_only, "as_of": context.today.isoformat()}
    if m.purchase_orders:
        arguments["numbers"] = [o["number"] for o in m.purchase_orders]
    elif m.suppliers:
        arguments["suppliers"] = [s["code"] for s in m.suppliers]
    elif m.products:
        arguments["products"] = [p["sku"] for p in m.products]
    lines = [_order_line(o, warnings.get(o["id"])) for o in orders]
    empty = "no late purchase orders" if late_only else "no open purchase orders"
    return ToolResult("purchase_orders", arguments, lines or [empty], orders)


def _order_line(order: dict[str, Any], warning: asyncpg.Record | None) -> str:
    if order["expected_date"] is None:
        due = "no expected date"
    elif order["days_late"] > 0:
        due = f"expected {order['expected_date']}, {order['days_late']} days late"
    else:
        due = f"expected {order['expected_date']}"
    coming = "; ".join(
        f"{fmt(line['quantity'])} {line['unit_of_measure']} of {line['sku']}" for line in order["outstanding"]
    )
    text = (
        f"{order['number']} from {order['supplier_code']} ({order['supplier_name']}) to {order['warehouse_code']}: "
        f"{order['status']}, {due}; "
        + (f"outstanding {coming}" if coming else "nothing outstanding")
        + f"; total {fmt(order['total_amount'])} {order['currency']}"
    )
    if warning is not None and order["status"] in ("issued", "partially_received"):
        text += (
            f"; early warning: {warning['late_probability']:.0%} likely late "
            f"(about {warning['expected_delay_days']:.1f} days)"
        )
    return text


async def _shipments(context: ToolContext) -> ToolResult:
    """Shipments not yet delivered (or the ones named), filtered by the orders or products named; "delayed"
    or "late" keeps only delayed or overdue ones."""
    m = context.mentions
    delayed_only = context.asks(LATE_WORDS) and not m.shipments
    found = await shipments.open_shipments(
        context.conn,
        context.today,
        shipment_ids=[s["id"] for s in m.shipments],
        purchase_order_ids=[] if m.shipments else [o["id"] for o in m.purchase_orders],
        product_ids=[] if m.shipments or m.purchase_orders else [p["id"] for p in m.products],
        delayed_only=delayed_only,
        limit=MAX_ROWS,
    )
    arguments: dict[str, Any] = {"delayed_only": delayed_only, "as_of": context.today.isoformat()}
    if m.shipments:
        arguments["numbers"] = [s["number"] for s in m.shipments]
    elif m.purchase_orders:
        arguments["purchase_orders"] = [o["number"] for o in m.purchase_orders]
    elif m.products:
        arguments["products"] = [p["sku"] for p in m.products]
    lines = [_shipment_line(s) for s in found]
    empty = "no delayed shipments" if delayed_only else "no shipments under way"
    return ToolResult("shipments", arguments, lines or [empty], found)


def _shipment_line(s: dict[str, Any]) -> str:
    text = f"{s['number']} {s['direction']}"
    if s["purchase_order_number"]:
        text += f" for {s['purchase_order_number']}"
    text += f" {'to' if s['direction'] == 'inbound' else 'from'} {s['warehouse_code']}"
    text += f" via {s['carrier']} {s['tracking_number']}: {s['status']}"
    if s["expected_delivery"] is not None:
        text += f", expected {s['expected_delivery']}"
        if s["days_overdue"] > 0:
            text += f" ({s['days_overdue']} days overdue)"
    if s["last_event"] is not None:
        text += f"; last event {s['last_event']} on {s['last_event_at']:%Y-%m-%d}"
        if s["last_location"]:
            text += f" at {s['last_location']}"
        if s["last_description"]:
            text += f": {s['last_description']}"
    return text


PURCHASE_ORDERS = Tool(
    "purchase_orders",
    "Open or late purchase orders, by supplier, product or number, with what is still to come",
    ("purchase order", "po", "order", "open order", "backorder", "late", "overdue", "past due", "outstanding"),
    _purchase_orders,
    mentions=frozenset({"purchase_order"}),
)
SHIPMENTS = Tool(
    "shipments",
    "Shipments in transit or delayed, with their latest tracking event",
    (
        "shipment",
        "shipping",
        "shipped",
        "in transit",
        "transit",
        "delay*",
        "carrier",
        "tracking",
        "deliver*",
        "arriv*",
        "eta",
    ),
    _shipments,
    mentions=frozenset({"shipment"}),
)
