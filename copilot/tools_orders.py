"""Copilot tools over what is coming in: open or late purchase orders and shipments under way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from copilot.tool_base import LATE_WORDS, MAX_ROWS, MORE_ROWS, Tool, ToolContext, ToolResult, dock_date, fmt
from inventory import open_shipments, order_book
from risk import scan_results


@dataclass(frozen=True)
class Named:
    """One kind of thing a question may name, as a tool filters by it: the domain query's keyword for the ids
    (``order_ids``), the tool call's argument (``numbers``), the rows named and the column the argument shows."""

    filter: str
    argument: str
    rows: list[dict[str, Any]]
    label: str


def most_specific(*kinds: Named) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """The query's filters and the call's arguments for the most specific kind named (``kinds`` from most to
    least specific): it filters alone ("PO-000012 from Acme" is that order, not every Acme order); the other
    filters are empty. Nothing named: every filter empty, no argument."""
    filters: dict[str, list[Any]] = {kind.filter: [] for kind in kinds}
    for kind in kinds:
        if kind.rows:
            filters[kind.filter] = [row["id"] for row in kind.rows]
            return filters, {kind.argument: [row[kind.label] for row in kind.rows]}
    return filters, {}


def _suppliers_products(context: ToolContext) -> tuple[Named, Named]:
    """The suppliers and the products a question names: the least specific kinds both tools narrow by."""
    m = context.mentions
    return Named("supplier_ids", "suppliers", m.suppliers, "code"), Named("product_ids", "products", m.products, "sku")


async def _still_to_come(
    context: ToolContext, query: Callable[..., Awaitable[list[dict[str, Any]]]], late: str, kinds: tuple[Named, ...]
) -> tuple[list[dict[str, Any]], list[str], dict[str, Any]]:
    """The first ``MAX_ROWS`` rows of ``query`` (open orders or shipments as of the reader's day) narrowed to the
    most specific of ``kinds`` named (the first: the tool's own rows), and with its flag ``late`` set when the
    question asks for late ones but names none of its own; returns them, ``MORE_ROWS`` (when there were more)
    and the call's arguments."""
    only = context.asks(LATE_WORDS) and not kinds[0].rows
    filters, named = most_specific(*kinds)
    rows = await query(context.conn, context.today, **filters, **{late: only}, limit=MAX_ROWS + 1)
    more = [MORE_ROWS] if len(rows) > MAX_ROWS else []
    return rows[:MAX_ROWS], more, {late: only, "as_of": context.today.isoformat(), **named}


async def _purchase_orders(context: ToolContext) -> ToolResult:
    """Open purchase orders (or the ones named), filtered by the suppliers or products named; "late" or
    "overdue" keeps only those past their expected date. Stored early warnings are added when present."""
    kinds = (Named("order_ids", "numbers", context.mentions.purchase_orders, "number"), *_suppliers_products(context))
    orders, more, arguments = await _still_to_come(context, order_book.open_orders, "late_only", kinds)
    warnings = await scan_results.stored_order_warnings(context.conn, [o["id"] for o in orders])
    lines = [_order_line(o, warnings.get(o["id"]), context) for o in orders] + more
    empty = "no late purchase orders" if arguments["late_only"] else "no open purchase orders"
    return ToolResult("purchase_orders", arguments, lines or [empty], orders)


def _order_line(order: dict[str, Any], warning: asyncpg.Record | None, context: ToolContext) -> str:
    if order["expected_date"] is None:
        due = "no expected date"
    elif order["days_late"] > 0:
        due = f"expected {order['expected_date']}, {order['days_late']} days late"
        if note := dock_date(order, context.today):
            due += f" ({note})"
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
    """Shipments not yet delivered (or the ones named), filtered by the orders, suppliers or products named; "delayed"
    or "late" keeps only delayed or overdue ones."""
    m = context.mentions
    kinds = (
        Named("shipment_ids", "numbers", m.shipments, "number"),
        Named("purchase_order_ids", "purchase_orders", m.purchase_orders, "number"),
        *_suppliers_products(context),
    )
    found, more, arguments = await _still_to_come(context, open_shipments.open_shipments, "delayed_only", kinds)
    lines = [_shipment_line(s, context) for s in found] + more
    empty = "no delayed shipments" if arguments["delayed_only"] else "no shipments under way"
    return ToolResult("shipments", arguments, lines or [empty], found)


def _shipment_line(s: dict[str, Any], context: ToolContext) -> str:
    text = f"{s['number']} {s['direction']}"
    if s["purchase_order_number"]:
        text += f" for {s['purchase_order_number']}"
    text += f" {'to' if s['direction'] == 'inbound' else 'from'} {s['warehouse_code']}"
    text += f" via {s['carrier']} {s['tracking_number']}: {s['status']}"
    if s["expected_delivery"] is not None:
        text += f", expected {s['expected_delivery']}"
        if s["days_overdue"] > 0:
            note = dock_date(s, context.today)
            text += f" ({s['days_overdue']} days overdue{'; ' + note if note else ''})"
    if s["last_event"] is not None:
        text += f"; last event {s['last_event']} on {context.local_date(s['last_event_at']):%Y-%m-%d}"
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
