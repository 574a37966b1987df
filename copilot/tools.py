"""Live-data tools: the copilot answers stock/reservation/movement/order questions by calling the domain
functions under the caller's tenant transaction, never by letting the model write SQL.

The small CPU model cannot be trusted to call functions, so tools are chosen by code (keywords and the
products a question names); each result carries the figures, formatted once, which go into the answer
verbatim. New tools (forecasts, risk, shipments) plug in with ``register_tool``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from copilot.suggestions import suggest
from inventory import reservations, stock
from inventory.listing import ListQuery

MAX_ROWS = 10


@dataclass(frozen=True)
class ToolContext:
    conn: asyncpg.Connection
    question: str
    products: list[dict[str, Any]]  # products of the caller's tenant that the question names


@dataclass(frozen=True)
class ToolResult:
    name: str
    arguments: dict[str, Any]
    lines: list[str]  # human-readable figures, quoted verbatim in the answer
    data: list[dict[str, Any]] = field(default_factory=list)

    def as_call(self) -> dict[str, Any]:
        return {"tool": self.name, "arguments": self.arguments, "result": self.lines}


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    keywords: tuple[str, ...]
    run: Callable[[ToolContext], Awaitable[ToolResult | None]]
    # Also run when the question names a product, even without a keyword.
    on_product_mention: bool = False

    def wanted(self, context: ToolContext) -> bool:
        lowered = context.question.lower()
        if any(re.search(rf"\b{re.escape(k)}", lowered) for k in self.keywords):
            return True
        return self.on_product_mention and bool(context.products)


TOOLS: dict[str, Tool] = {}


def register_tool(tool: Tool) -> Tool:
    TOOLS[tool.name] = tool
    return tool


async def run_tools(conn: asyncpg.Connection, question: str) -> list[ToolResult]:
    context = ToolContext(conn, question, await mentioned_products(conn, question))
    results = []
    for tool in TOOLS.values():
        if tool.wanted(context):
            result = await tool.run(context)
            if result is not None:
                results.append(result)
    return results


async def mentioned_products(conn: asyncpg.Connection, question: str) -> list[dict[str, Any]]:
    """Products (visible to the caller) whose SKU or name appears in the question."""
    rows = await conn.fetch(
        """SELECT id, sku, name FROM app.products
           WHERE active AND (strpos(lower($1), lower(sku)) > 0 OR strpos(lower($1), lower(name)) > 0)
           ORDER BY length(name) DESC LIMIT $2""",
        question,
        MAX_ROWS,
    )
    return [dict(r) for r in rows]


def fmt(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)


async def _stock_levels(context: ToolContext) -> ToolResult:
    levels: list[dict[str, Any]] = []
    if context.products:
        for product in context.products:
            page = await stock.list_levels(
                context.conn, ListQuery(limit=MAX_ROWS, filters={"product_id": product["id"]})
            )
            levels.extend(page.items)
        arguments: dict[str, Any] = {"products": [p["sku"] for p in context.products]}
    else:
        page = await stock.list_levels(context.conn, ListQuery(limit=MAX_ROWS, sort="available"))
        levels = page.items
        arguments = {"sort": "available", "limit": MAX_ROWS}
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
    skus = await _skus(context.conn, {r["product_id"] for r in page.items})
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
    skus = await _skus(context.conn, {m["product_id"] for m in page.items})
    lines = [
        f"{m['occurred_at']:%Y-%m-%d} {m['movement_type']} {fmt(m['quantity'])} of "
        f"{skus.get(m['product_id'], m['product_id'])}"
        for m in page.items
    ]
    arguments = {k: str(v) for k, v in filters.items()} | {"limit": MAX_ROWS}
    return ToolResult("recent_movements", arguments, lines or ["no stock movements"], page.items)


async def _suggestions(context: ToolContext) -> ToolResult:
    found = await suggest(context.conn, limit=MAX_ROWS)
    lines = [f"{s.title}: {s.reason}" for s in found]
    return ToolResult(
        "action_suggestions", {"limit": MAX_ROWS}, lines or ["nothing to act on now"], [s.as_dict() for s in found]
    )


async def _skus(conn: asyncpg.Connection, product_ids: set[UUID]) -> dict[UUID, str]:
    if not product_ids:
        return {}
    rows = await conn.fetch("SELECT id, sku FROM app.products WHERE id = ANY($1::uuid[])", list(product_ids))
    return {r["id"]: r["sku"] for r in rows}


register_tool(
    Tool(
        "stock_levels",
        "On hand, reserved and available stock per product and warehouse",
        ("stock", "inventory", "on hand", "available", "how many", "how much", "level"),
        _stock_levels,
        on_product_mention=True,
    )
)
register_tool(Tool("active_reservations", "Active stock reservations", ("reserv", "hold", "allocated"), _reservations))
register_tool(
    Tool(
        "recent_movements",
        "The latest receipts, issues, transfers and adjustments from the ledger",
        ("movement", "receipt", "received", "issued", "transfer", "adjustment", "history", "ledger"),
        _movements,
    )
)
register_tool(
    Tool(
        "action_suggestions",
        "Reorder suggestions from reorder rules and recent demand",
        ("reorder", "suggest", "recommend", "should i", "order more", "running low", "run out", "expedite"),
        _suggestions,
    )
)
