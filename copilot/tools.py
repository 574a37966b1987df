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

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import pandas as pd

from common.database import TenantTransaction
from copilot.mentions import Mentions, find_mentions
from copilot.suggestions import suggest
from inventory import purchasing, reservations, shipments, stock
from inventory.listing import ListQuery
from risk import repository as risk_repository
from risk import service as risk_service
from training import forecast_store, registry
from training.history import period_start

MAX_ROWS = 10
RISKIEST = 5


@dataclass(frozen=True)
class ToolContext:
    tx: TenantTransaction
    question: str
    mentions: Mentions
    today: date

    @property
    def conn(self) -> asyncpg.Connection:
        return self.tx.conn

    @property
    def products(self) -> list[dict[str, Any]]:
        """Products of the caller's tenant that the question names."""
        return self.mentions.products

    def asks(self, words: tuple[str, ...]) -> bool:
        return matches(self.question, words)


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
    # Intent words, matched as whole words (a trailing "s" allowed); a trailing "*" matches any ending.
    keywords: tuple[str, ...]
    run: Callable[[ToolContext], Awaitable[ToolResult | None]]
    # Also run when the question names one of these kinds: product, supplier, purchase_order, shipment.
    mentions: frozenset[str] = frozenset()

    def asked(self, context: ToolContext, chosen: set[str] | None = None) -> bool:
        """Chosen by the classifier (``copilot.tool_choice``) or, without one, by intent words."""
        return self.name in chosen if chosen is not None else context.asks(self.keywords)


# A product or supplier named adds its tool (stock, risk) only when nothing else is asked for: "late POs from
# Wurth" wants the orders (filtered by Wurth), not Wurth's risk score. A PO or shipment number always adds its
# lookup.
WEAK_MENTIONS = frozenset({"product", "supplier"})
UNKNOWN_CODES = "no product, supplier, purchase order or shipment has the code named in the question"


def matches(question: str, words: tuple[str, ...]) -> bool:
    lowered = question.lower()
    for word in words:
        pattern = rf"\b{re.escape(word[:-1])}" if word.endswith("*") else rf"\b{re.escape(word)}s?\b"
        if re.search(pattern, lowered):
            return True
    return False


TOOLS: dict[str, Tool] = {}


def register_tool(tool: Tool) -> Tool:
    TOOLS[tool.name] = tool
    return tool


async def run_tools(tx: TenantTransaction, question: str, chosen: set[str] | None = None) -> list[ToolResult]:
    """The results of every tool the question calls for, in registration order."""
    today: date = await tx.conn.fetchval("SELECT current_date")
    context = ToolContext(tx, question, await find_mentions(tx.conn, question), today)
    kinds = context.mentions.kinds()
    if context.mentions.unknown_codes and not kinds:
        # Only codes that name nothing: say so rather than list unrelated rows. The codes are not repeated in
        # the line, so the answer's checker never takes them for facts.
        return [ToolResult("lookup", {"codes": context.mentions.unknown_codes}, [UNKNOWN_CODES])]
    wanted = {t.name for t in TOOLS.values() if t.asked(context, chosen) or (t.mentions & kinds) - WEAK_MENTIONS}
    if not wanted:
        wanted = {t.name for t in TOOLS.values() if t.mentions & kinds}
    results = []
    for tool in TOOLS.values():
        if tool.name in wanted:
            result = await tool.run(context)
            if result is not None:
                results.append(result)
    return results


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


# Forecast frequencies the batch job stores, and how many points make the "next period" quoted.
NEXT_PERIOD = {"D": (7, "next 7 days"), "W": (1, "next week")}


async def _forecast(context: ToolContext) -> ToolResult:
    """The champion run's stored forecast for the products named (else the largest series): the next
    period's total with its interval. Read from the database; nothing is fitted here."""
    prefer = ("W", "D") if context.asks(("week*", "weekly")) else ("D", "W")
    run = None
    for freq in prefer:
        run = await registry.champion(context.conn, context.tx.tenant_id, registry.champion_key(freq))
        if run is not None:
            break
    if run is None or run.freq not in NEXT_PERIOD:
        return ToolResult(
            "demand_forecast", {}, ["no stored demand forecast yet (the batch forecast job has not produced one)"]
        )
    steps, label = NEXT_PERIOD[run.freq]
    start = period_start(pd.Timestamp(context.today).tz_localize("UTC").to_pydatetime(), run.freq)
    start_ts = start.tz_localize("UTC").to_pydatetime()
    if context.products:
        series = await context.conn.fetch(
            """SELECT DISTINCT f.product_id, f.warehouse_id, p.sku, p.name, w.code AS warehouse_code
               FROM app.demand_forecasts f
               JOIN app.products p ON p.id = f.product_id JOIN app.warehouses w ON w.id = f.warehouse_id
               WHERE f.run_id = $1 AND f.product_id = ANY($2::uuid[])
               ORDER BY p.sku, w.code LIMIT $3""",
            run.id,
            [p["id"] for p in context.products],
            MAX_ROWS,
        )
        arguments: dict[str, Any] = {"products": [p["sku"] for p in context.products]}
    else:
        series = await context.conn.fetch(
            """SELECT f.product_id, f.warehouse_id, p.sku, p.name, w.code AS warehouse_code
               FROM app.demand_forecasts f
               JOIN app.products p ON p.id = f.product_id JOIN app.warehouses w ON w.id = f.warehouse_id
               WHERE f.run_id = $1 AND f.ds >= $2
               GROUP BY f.product_id, f.warehouse_id, p.sku, p.name, w.code
               ORDER BY sum(f.yhat) DESC, p.sku LIMIT $3""",
            run.id,
            start_ts,
            RISKIEST,
        )
        arguments = {"largest": RISKIEST}
    arguments |= {"model_name": run.model_name, "run_version": run.version, "period": label}
    lines = []
    data = []
    for row in series:
        frame = await forecast_store.stored_forecast(
            context.conn, context.tx.tenant_id, run.id, row["product_id"], row["warehouse_id"]
        )
        upcoming = frame[frame["ds"] >= start.to_pydatetime()].head(steps)
        where = f"{row['sku']} ({row['name']}) at {row['warehouse_code']}"
        if upcoming.empty:
            lines.append(f"{where}: the stored forecast ends before {context.today} (stale)")
            continue
        levels = sorted(float(c[1:]) for c in upcoming.columns if c.startswith("q"))
        total = float(upcoming["yhat"].sum())
        text = f"{where}, {label} from {upcoming['ds'].iloc[0]:%Y-%m-%d}: {total:.1f} units forecast"
        item: dict[str, Any] = {
            "product_id": row["product_id"],
            "warehouse_id": row["warehouse_id"],
            "total": round(total, 1),
        }
        if len(levels) >= 2:
            low, high = (float(upcoming[f"q{q:g}"].sum()) for q in (levels[0], levels[-1]))
            text += f" (interval {low:.1f} to {high:.1f}, sum of P{levels[0] * 100:g} and P{levels[-1] * 100:g})"
            item |= {"low": round(low, 1), "high": round(high, 1)}
        trained = f"{run.training_end:%Y-%m-%d}" if run.training_end else "unknown"
        text += f"; model {upcoming['model'].iloc[0]}, champion run v{run.version} trained on data up to {trained}"
        lines.append(text)
        data.append(item)
    for product in context.products:
        if all(r["product_id"] != product["id"] for r in series):
            lines.append(f"{product['sku']} ({product['name']}): no stored forecast in champion run v{run.version}")
    return ToolResult("demand_forecast", arguments, lines or ["the stored forecast has no series"], data)


async def _supplier_risk(context: ToolContext) -> ToolResult:
    """Risk assessments of the suppliers named (else the riskiest), with their top drivers and the trend
    against the early-warning job's last scan."""
    if context.mentions.suppliers:
        assessed = [
            await risk_service.assess_supplier(context.tx, s["id"], context.today) for s in context.mentions.suppliers
        ]
        arguments: dict[str, Any] = {"suppliers": [s["code"] for s in context.mentions.suppliers]}
    else:
        ranking = await risk_service.rank_suppliers(context.tx, context.today, limit=RISKIEST)
        assessed = ranking["suppliers"]
        arguments = {"riskiest": RISKIEST}
    arguments["as_of"] = context.today.isoformat()
    scanned = await risk_repository.scanned_supplier_scores(context.conn)
    lines = [_risk_line(a, scanned.get(a["supplier"]["id"])) for a in assessed]
    return ToolResult("supplier_risk", arguments, lines or ["no active suppliers"], assessed)


def _risk_line(assessment: dict[str, Any], scanned: asyncpg.Record | None) -> str:
    supplier = assessment["supplier"]
    components = ", ".join(f"{name} {score:g}" for name, score in assessment["components"].items())
    drivers = "; ".join(
        f"{f['component']} {f['factor']} {_value(f['value'])} (+{f['contribution']:g})"
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


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return "unknown" if value is None else str(value)


async def _suggestions(context: ToolContext) -> ToolResult:
    found = await suggest(context.tx, limit=MAX_ROWS)
    lines = [f"{s.title}: {s.reason}" for s in found]
    return ToolResult(
        "action_suggestions", {"limit": MAX_ROWS}, lines or ["nothing to act on now"], [s.as_dict() for s in found]
    )


async def _skus(conn: asyncpg.Connection, product_ids: set[UUID]) -> dict[UUID, str]:
    if not product_ids:
        return {}
    rows = await conn.fetch("SELECT id, sku FROM app.products WHERE id = ANY($1::uuid[])", list(product_ids))
    return {r["id"]: r["sku"] for r in rows}


LATE_WORDS = ("late", "overdue", "delay*", "behind", "past due", "stuck")

register_tool(
    Tool(
        "stock_levels",
        "On hand, reserved and available stock per product and warehouse",
        ("stock", "inventory", "on hand", "available", "how many", "how much", "level"),
        _stock_levels,
        mentions=frozenset({"product"}),
    )
)
register_tool(Tool("active_reservations", "Active stock reservations", ("reserv*", "hold", "allocated"), _reservations))
register_tool(
    Tool(
        "recent_movements",
        "The latest receipts, issues, transfers and adjustments from the ledger",
        ("movement", "receipt", "received", "issued", "transfer*", "adjustment", "history", "ledger"),
        _movements,
    )
)
register_tool(
    Tool(
        "purchase_orders",
        "Open or late purchase orders, by supplier, product or number, with what is still to come",
        ("purchase order", "po", "order", "open order", "backorder", "late", "overdue", "past due", "outstanding"),
        _purchase_orders,
        mentions=frozenset({"purchase_order"}),
    )
)
register_tool(
    Tool(
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
)
register_tool(
    Tool(
        "demand_forecast",
        "The stored demand forecast (champion run): next period's total with its interval",
        (
            "forecast*",
            "demand",
            "predict*",
            "projected",
            "projection",
            "will we sell",
            "sales",
            "next week",
            "next month",
        ),
        _forecast,
    )
)
register_tool(
    Tool(
        "supplier_risk",
        "Supplier risk scores with their top drivers, for the suppliers named or the riskiest",
        ("risk*", "reliab*", "unreliable", "disruption", "compliance", "certif*", "audit*", "riskiest"),
        _supplier_risk,
        mentions=frozenset({"supplier"}),
    )
)
register_tool(
    Tool(
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
)
