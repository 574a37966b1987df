"""Copilot tools over the stock ledger: levels, active reservations and recent movements."""

from __future__ import annotations

from typing import Any

from copilot.tool_base import MAX_ROWS, Tool, ToolContext, ToolResult, fmt, skus_of
from inventory import reservations, stock
from inventory.listing import ListQuery


async def _stock_levels(context: ToolContext) -> ToolResult:
    levels: list[dict[str, Any]] = []
    # The warehouses named narrow the levels ("available in WH-1"); none named: every warehouse.
    places = [{"warehouse_id": w["id"]} for w in context.mentions.warehouses] or [{}]
    where = {"warehouses": [w["code"] for w in context.mentions.warehouses]} if context.mentions.warehouses else {}
    if context.products:
        for product in context.products:
            for place in places:
                query = ListQuery(limit=MAX_ROWS, filters={"product_id": product["id"], **place})
                levels.extend((await stock.list_levels(context.conn, query)).items)
        arguments: dict[str, Any] = {"products": [p["sku"] for p in context.products], **where}
    else:
        for place in places:
            query = ListQuery(limit=MAX_ROWS, sort="available", filters=place)
            levels.extend((await stock.list_levels(context.conn, query)).items)
        arguments = {"sort": "available", "limit": MAX_ROWS, **where}
    lines = [
        f"{lv['sku']} ({lv['product_name']}) at {lv['warehouse_code']}: on hand {fmt(lv['on_hand'])}, "
        f"reserved {fmt(lv['reserved'])}, available {fmt(lv['available'])} {lv['unit_of_measure']}"
        for lv in levels
    ]
    return ToolResult("stock_levels", arguments, lines or ["no stock recorded"], levels)


async def _reservations(context: ToolContext) -> ToolResult:
    filters: dict[str, Any] = {"status": "active"}
    if len(context.products) == 1:
        filters["product_id"] = context.products[0]["id"]
    page = await reservations.list_reservations(context.conn, ListQuery(limit=MAX_ROWS, filters=filters))
    skus = await skus_of(context.conn, {r["product_id"] for r in page.items})
    lines = [
        f"reservation {r['id']}: {fmt(r['quantity'])} of {skus.get(r['product_id'], r['product_id'])}"
        + (f" ({r['reference']})" if r.get("reference") else "")
        for r in page.items
    ]
    arguments = {k: str(v) for k, v in filters.items()}
    return ToolResult("active_reservations", arguments, lines or ["no active reservations"], page.items)


async def _movements(context: ToolContext) -> ToolResult:
    filters: dict[str, Any] = {}
    if len(context.products) == 1:
        filters["product_id"] = context.products[0]["id"]
    page = await stock.list_movements(context.conn, ListQuery(limit=MAX_ROWS, sort="-occurred_at", filters=filters))
    skus = await skus_of(context.conn, {m["product_id"] for m in page.items})
    lines = [
        f"{context.local_date(m['occurred_at']):%Y-%m-%d} {m['movement_type']} {fmt(m['quantity'])} of "
        f"{skus.get(m['product_id'], m['product_id'])}"
        for m in page.items
    ]
    arguments = {k: str(v) for k, v in filters.items()} | {"limit": MAX_ROWS}
    return ToolResult("recent_movements", arguments, lines or ["no stock movements"], page.items)


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
