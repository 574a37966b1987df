"""Copilot tools over the stock ledger: levels, active reservations and recent movements."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from copilot.tool_base import MAX_ROWS, MORE_ROWS, Tool, ToolContext, ToolResult, fmt
from inventory import reservations, stock
from inventory.listing import ListQuery


async def _stock_levels(context: ToolContext) -> ToolResult:
    levels: list[dict[str, Any]] = []
    more = False  # a page cut at MAX_ROWS says so, as the order and shipment tools do
    # The warehouses named narrow the levels ("available in WH-1"); none named: every warehouse.
    places = [{"warehouse_id": w["id"]} for w in context.mentions.warehouses] or [{}]
    where = {"warehouses": [w["code"] for w in context.mentions.warehouses]} if context.mentions.warehouses else {}
    if context.products:
        for product in context.products:
            for place in places:
                query = ListQuery(limit=MAX_ROWS, filters={"product_id": product["id"], **place})
                page = await stock.list_levels(context.conn, query)
                levels.extend(page.items)
                more = more or page.next_cursor is not None
        arguments: dict[str, Any] = {"products": [p["sku"] for p in context.products], **where}
    else:
        for place in places:
            query = ListQuery(limit=MAX_ROWS, sort="available", filters=place)
            page = await stock.list_levels(context.conn, query)
            levels.extend(page.items)
            more = more or page.next_cursor is not None
        arguments = {"sort": "available", "limit": MAX_ROWS, **where}
    lines = [
        f"{lv['sku']} ({lv['product_name']}) at {lv['warehouse_code']}: on hand {fmt(lv['on_hand'])}, "
        f"reserved {fmt(lv['reserved'])}, available {fmt(lv['available'])} {lv['unit_of_measure']}"
        for lv in levels
    ] + ([MORE_ROWS] if more else [])
    return ToolResult("stock_levels", arguments, lines or ["no stock recorded"], levels)


async def _reservations(context: ToolContext) -> ToolResult:
    rows: list[dict[str, Any]] = []
    more = False
    for product in _named_or_all(context):  # every product named, not only when one is
        filters: dict[str, Any] = {"status": "active", **product}
        page = await reservations.list_reservations(context.conn, ListQuery(limit=MAX_ROWS, filters=filters))
        rows += page.items
        more = more or page.next_cursor is not None
    more = more or len(rows) > MAX_ROWS
    rows = rows[:MAX_ROWS]
    label = await _labels(context, rows)
    lines = [
        f"reservation {r['id']}: {label(r, r['quantity'])}" + (f" ({r['reference']})" if r.get("reference") else "")
        for r in rows
    ] + ([MORE_ROWS] if more else [])
    arguments: dict[str, Any] = {"status": "active"} | _named_argument(context)
    return ToolResult("active_reservations", arguments, lines or ["no active reservations"], rows)


async def _movements(context: ToolContext) -> ToolResult:
    rows: list[dict[str, Any]] = []
    more = False  # the ledger's newest 10 of more must not read as all there were
    for product in _named_or_all(context):
        query = ListQuery(limit=MAX_ROWS, sort="-occurred_at", filters=product)
        page = await stock.list_movements(context.conn, query)
        rows += page.items
        more = more or page.next_cursor is not None
    more = more or len(rows) > MAX_ROWS
    rows = sorted(rows, key=lambda m: m["occurred_at"], reverse=True)[:MAX_ROWS]
    label = await _labels(context, rows)
    lines = [
        f"{context.local_date(m['occurred_at']):%Y-%m-%d} {m['movement_type']} {label(m, m['quantity'])}" for m in rows
    ] + ([MORE_ROWS] if more else [])
    arguments = _named_argument(context) | {"limit": MAX_ROWS}
    return ToolResult("recent_movements", arguments, lines or ["no stock movements"], rows)


def _named_or_all(context: ToolContext) -> list[dict[str, Any]]:
    """One filter per product named (each listed, not only when one is), or none: every product."""
    return [{"product_id": p["id"]} for p in context.products] or [{}]


def _named_argument(context: ToolContext) -> dict[str, Any]:
    return {"products": [p["sku"] for p in context.products]} if context.products else {}


async def _labels(context: ToolContext, rows: list[dict[str, Any]]) -> Callable[[dict[str, Any], Any], str]:
    """ "4 each of SKU-0 at WH-0" for a row's quantity: its unit, product and warehouse, as the levels say."""
    products = await context.conn.fetch(
        "SELECT id, sku, unit_of_measure FROM app.products WHERE id = ANY($1::uuid[])",
        list({r["product_id"] for r in rows}),
    )
    warehouses = await context.conn.fetch(
        "SELECT id, code FROM app.warehouses WHERE id = ANY($1::uuid[])", list({r["warehouse_id"] for r in rows})
    )
    unit = {p["id"]: (p["sku"], p["unit_of_measure"]) for p in products}
    code = {w["id"]: w["code"] for w in warehouses}

    def label(row: dict[str, Any], quantity: Any) -> str:
        sku, uom = unit.get(row["product_id"], (row["product_id"], ""))
        return f"{fmt(quantity)} {uom} of {sku} at {code.get(row['warehouse_id'], row['warehouse_id'])}"

    return label


STOCK_LEVELS = Tool(
    "stock_levels",
    "On hand, reserved and available stock per product and warehouse",
    ("stock", "inventory", "on hand", "available", "how many", "how much", "level"),
    _stock_levels,
    mentions=frozenset({"product"}),
)
RESERVATIONS = Tool("active_reservations", "Active stock reservations", ("reserv*", "hold", "allocated"), _reservations)
MOVEMENTS = Tool(
    "recent_movements",
    "The latest receipts, issues, transfers and adjustments from the ledger",
    ("movement", "receipt", "received", "issued", "transfer*", "adjustment", "history", "ledger"),
    _movements,
)
