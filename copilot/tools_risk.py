"""Copilot tools that judge: supplier risk with its drivers, and suggested actions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from copilot.suggestions import suggest
from copilot.tool_base import MAX_ROWS, MORE_OF, MORE_ROWS, RISKIEST, Tool, ToolContext, ToolResult
from risk import scan_results
from risk import service as risk_service


async def _supplier_risk(context: ToolContext) -> ToolResult:
    """Risk assessments of the suppliers named (else the riskiest, and how many were ranked when there are more:
    until 2026-12-07 the riskiest 5 of 8 read as all there were), with their top drivers and the trend against the
    early-warning job's last scan."""
    # Overdue lines on each receiving warehouse's calendar, as the API's and the nightly scan's scores count them
    # (the trend compares with the scan's).
    now = datetime.now(UTC)
    more: list[str] = []
    if context.mentions.suppliers:
        assessed = [
            await risk_service.assess_supplier(context.tx, s["id"], context.today, now)
            for s in context.mentions.suppliers
        ]
        arguments: dict[str, Any] = {"suppliers": [s["code"] for s in context.mentions.suppliers]}
    else:
        ranking = await risk_service.rank_suppliers(context.tx, context.today, limit=RISKIEST, at=now)
        assessed = ranking["suppliers"]
        arguments = {"riskiest": RISKIEST}
        if ranking["total"] > len(assessed):
            more = [MORE_OF.format(shown=len(assessed), total=ranking["total"])]
    arguments["as_of"] = context.today.isoformat()
    scanned = await scan_results.scanned_supplier_scores(context.conn)
    lines = [_risk_line(a, scanned.get(a["supplier"]["id"])) for a in assessed] + more
    return ToolResult("supplier_risk", arguments, lines or ["no active suppliers"], assessed)


def _risk_line(assessment: dict[str, Any], scanned: asyncpg.Record | None) -> str:
    supplier = assessment["supplier"]
    components = ", ".join(f"{name} {score:g}" for name, score in assessment["components"].items())
    drivers = "; ".join(
        f"{f['component']} {f['factor']} {_value(f['value'])}{_observed(f.get('observed'))} (+{f['contribution']:g})"
        for f in assessment["top_factors"][:3]
        if f["contribution"] > 0
    )
    text = (
        f"{supplier['code']} ({supplier['name']}): risk score {assessment['overall']:g}/100, {assessment['band']} "
        f"(confidence {assessment['confidence']}); components {components}"
    )
    if drivers:
        text += f"; top drivers: {drivers}"
    if scanned is not None:
        change = assessment["overall"] - scanned["last_value"]
        trend = "rising" if change > 0 else "falling" if change < 0 else "unchanged"
        text += f"; last scan {scanned['last_value']:g} ({trend}, {change:+.1f})"
    return text


def _observed(observed: dict[str, Any] | None) -> str:
    """What a shrunk rate was estimated from, so the estimate is not read as what was observed."""
    if observed is None:
        return ""
    return f" (estimate; observed: {_value({k: 'none' if v is None else v for k, v in observed.items()})})"


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return "unknown" if value is None else str(value)


# A question naming some kinds of action by their verbs ("What should I expedite?") gets those only; else every kind.
ACTION_VERBS = {
    "expedite": ("expedite*", "chase", "chasing", "hurry", "rush"),
    "reorder": ("reorder*", "replenish*", "restock*"),
}
# Running out is answered by a reorder and by expediting what is already on order: both kinds.
STOCK_OUT_WORDS = (
    "run out", "runs out", "running out", "ran out", "running low", "stock out", "stock-out", "stockout*",
    "out of stock",
)  # fmt: skip
SUPPLIER_WORDS = ("supplier*", "vendor*")


def _actions_asked(context: ToolContext) -> list[str] | None:
    """The kinds the question names, in the order suggestions are listed; None (every kind) when it names none.
    "Review" names supplier reviews when the question is about suppliers, and adds them to other kinds named
    ("What should I expedite or review?"); on its own it narrows nothing ("Can you review the suggested actions?").
    Until 2026-12-07 "run out", "running low" and "order more" narrowed to reorders, hiding the expedite of an order
    landing after the stock-out, and any "review" narrowed to supplier reviews."""
    asked = {action for action, verbs in ACTION_VERBS.items() if context.asks(verbs)}
    if context.asks(STOCK_OUT_WORDS):
        asked |= {"expedite", "reorder"}
    if context.asks(("review*",)) and (asked or context.asks(SUPPLIER_WORDS)):
        asked.add("review_supplier")
    return [action for action in ("expedite", "reorder", "review_supplier") if action in asked] or None


async def _suggestions(context: ToolContext) -> ToolResult:
    """The first ``MAX_ROWS`` suggestions and, when there are more, ``MORE_ROWS``: until 2026-12-07 ten lines
    read as "there are ten"."""
    actions = _actions_asked(context)
    found = await suggest(context.tx, today=context.today, limit=MAX_ROWS + 1, actions=actions)
    shown = found[:MAX_ROWS]
    lines = [f"{s.title}: {s.reason}" for s in shown] + ([MORE_ROWS] if len(found) > MAX_ROWS else [])
    arguments: dict[str, Any] = {"limit": MAX_ROWS} | ({"actions": actions} if actions else {})
    return ToolResult("action_suggestions", arguments, lines or [_nothing(actions)], [s.as_dict() for s in shown])


def _nothing(actions: list[str] | None) -> str:
    return "nothing to act on now" if actions is None else f"no {' or '.join(actions)} suggestions now"


SUPPLIER_RISK = Tool(
    "supplier_risk",
    "Supplier risk scores with their top drivers, for the suppliers named or the riskiest",
    ("risk*", "reliab*", "unreliable", "disruption", "compliance", "certif*", "audit*", "riskiest"),
    _supplier_risk,
    mentions=frozenset({"supplier"}),
)
SUGGESTIONS = Tool(
    "action_suggestions",
    "Suggested actions: reorder products, expedite purchase orders, review suppliers",
    (
        "reorder*",
        "suggest*",
        "recommend*",
        "should i",
        "order more",
        "running low",
        "run out",
        "expedite*",
        "action",
        "to do",
        "review",
    ),
    _suggestions,
)
