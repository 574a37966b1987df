"""Live-data tools: the copilot answers questions about stock, reservations, movements, purchase orders,
shipments, forecasts, supplier risk and suggested actions by calling the domain functions under the caller's
tenant transaction (row-level security applies), never by letting the model write SQL.

The small CPU model cannot be trusted to call functions, so tools are chosen by code, deterministically: a
tool runs when the question has one of its intent words, or names an entity of a kind it answers for
(``copilot.mentions``: products, suppliers, purchase-order and shipment numbers); the entities named become
its filters. Each result carries its figures, formatted once, which go into the answer verbatim. More tools
plug in with ``register_tool``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from common.database import TenantTransaction
from copilot.mentions import Mentions, find_mentions
from copilot.tool_base import (
    LATE_WORDS,
    MAX_ROWS,
    MORE_NAMED,
    RISKIEST,
    UNKNOWN_CODES,
    WEAK_MENTIONS,
    Tool,
    ToolContext,
    ToolResult,
    fmt,
    matches,
)
from copilot.tools_forecast import FORECAST
from copilot.tools_orders import PURCHASE_ORDERS, SHIPMENTS
from copilot.tools_risk import SUGGESTIONS, SUPPLIER_RISK
from copilot.tools_stock import MOVEMENTS, RESERVATIONS, STOCK_LEVELS
from inventory import members

__all__ = [
    "LATE_WORDS",
    "MAX_ROWS",
    "RISKIEST",
    "TOOLS",
    "UNKNOWN_CODES",
    "Tool",
    "ToolContext",
    "ToolResult",
    "fmt",
    "matches",
    "register_tool",
    "run_tools",
]

TOOLS: dict[str, Tool] = {}


def register_tool(tool: Tool) -> Tool:
    TOOLS[tool.name] = tool
    return tool


async def run_tools(
    tx: TenantTransaction, question: str, chosen: set[str] | None = None, *, mentions: Mentions | None = None
) -> list[ToolResult]:
    """The results of every tool the question calls for, in registration order. ``mentions``: what the question
    names when the caller has already looked it up (the turn does, for tool choice); otherwise looked up here."""
    zone = await members.zone_for(tx.conn, tx.user_id)
    if mentions is None:
        mentions = await find_mentions(tx.conn, question)
    context = ToolContext(tx, question, mentions, zone, datetime.now(zone).date())
    kinds = context.mentions.kinds()
    # Codes that name nothing are said to (the codes are not repeated in the line, so the answer's checker never
    # takes them for facts); with nothing else named but a warehouse, which is where to look and not a subject,
    # that is the whole answer rather than other products' rows.
    unknown = (
        [ToolResult("lookup", {"codes": context.mentions.unknown_codes}, [UNKNOWN_CODES])]
        if context.mentions.unknown_codes
        else []
    )
    if unknown and not kinds:
        return unknown
    wanted = {t.name for t in TOOLS.values() if t.asked(context, chosen) or (t.mentions & kinds) - WEAK_MENTIONS}
    if not wanted:
        wanted = {t.name for t in TOOLS.values() if t.mentions & kinds}
    results = []
    for tool in TOOLS.values():
        if tool.name in wanted:
            result = await tool.run(context)
            if result is not None:
                results.append(_noting_names_left_out(result, context.mentions))
    return results + unknown


# What each kind of mention is called in a line, and the column a tool call's argument lists it by.
_KIND_WORDS = {
    "product": ("products", "sku"),
    "supplier": ("suppliers", "code"),
    "purchase_order": ("purchase orders", "number"),
    "shipment": ("shipments", "number"),
    "warehouse": ("warehouses", "code"),
}


def _noting_names_left_out(result: ToolResult, mentions: Mentions) -> ToolResult:
    """``result`` with a ``MORE_NAMED`` line for each kind it was narrowed by (an argument lists exactly the ones
    named) of which the question names more than were looked up: its rows are not all the question asks about."""
    named = mentions.named()
    notes = [
        MORE_NAMED.format(kind=word)
        for kind, (word, label) in _KIND_WORDS.items()
        if kind in mentions.truncated and [row[label] for row in named[kind]] in result.arguments.values()
    ]
    return replace(result, lines=result.lines + notes) if notes else result


# Registration order is the order of the results (and of the tool calls quoted in an answer).
for _tool in (STOCK_LEVELS, RESERVATIONS, MOVEMENTS, PURCHASE_ORDERS, SHIPMENTS, FORECAST, SUPPLIER_RISK, SUGGESTIONS):
    register_tool(_tool)
