"""Action suggestions: what a planner should do now, each with the figures that justify it.

Sources are plain async functions over the caller's tenant connection; forecast- and risk-based sources
plug in by appending to ``SUGGESTION_SOURCES`` (``register_source``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

import asyncpg

from inventory import reorder

DEMAND_WINDOW_DAYS = 28
COVER_TARGET_DAYS = 14


@dataclass(frozen=True)
class Suggestion:
    action: str  # reorder | expedite | review_supplier
    title: str
    reason: str
    source: str
    product_id: str | None = None
    warehouse_id: str | None = None
    supplier_id: str | None = None
    quantity: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


SuggestionSource = Callable[[asyncpg.Connection], Awaitable[list[Suggestion]]]


async def from_reorder_rules(conn: asyncpg.Connection) -> list[Suggestion]:
    """Active reorder rules whose projected stock (on hand + incoming - reserved) is below the minimum."""
    return [
        Suggestion(
            action="reorder",
            title=f"Reorder {_fmt(p['quantity'])} x {p['sku']} for {p['warehouse_code']} from {p['supplier_code']}",
            reason=(
                f"projected stock {_fmt(p['projected'])} (on hand {_fmt(p['on_hand'])} + incoming "
                f"{_fmt(p['incoming'])} - reserved {_fmt(p['reserved'])}) is below the reorder minimum "
                f"{_fmt(p['min_quantity'])}; lead time {p['lead_time_days']} days"
            ),
            source="reorder_rules",
            product_id=str(p["product_id"]),
            warehouse_id=str(p["warehouse_id"]),
            supplier_id=str(p["supplier_id"]),
            quantity=_fmt(p["quantity"]),
        )
        for p in await reorder.proposals(conn, {})
    ]


async def from_recent_demand(conn: asyncpg.Connection) -> list[Suggestion]:
    """Stock whose available quantity covers fewer than 14 days of the last 28 days' average issues."""
    rows = await conn.fetch(
        """WITH demand AS (
               SELECT product_id, warehouse_id, -sum(quantity) / $1::int AS per_day
               FROM app.stock_movements
               WHERE movement_type = 'issue' AND occurred_at >= now() - make_interval(days => $1::int)
               GROUP BY product_id, warehouse_id)
           SELECT l.product_id, l.sku, l.product_name, l.warehouse_id, l.warehouse_code, l.available, d.per_day
           FROM app.stock_level_details l
           JOIN demand d ON d.product_id = l.product_id AND d.warehouse_id = l.warehouse_id
           WHERE d.per_day > 0 AND l.available < d.per_day * $2
           ORDER BY l.available / d.per_day, l.sku""",
        DEMAND_WINDOW_DAYS,
        COVER_TARGET_DAYS,
    )
    found = []
    for r in rows:
        per_day: Decimal = r["per_day"]
        cover = r["available"] / per_day
        quantity = (per_day * COVER_TARGET_DAYS * 2 - r["available"]).quantize(Decimal(1))
        found.append(
            Suggestion(
                action="reorder",
                title=f"Reorder about {_fmt(quantity)} x {r['sku']} ({r['product_name']}) for {r['warehouse_code']}",
                reason=(
                    f"available {_fmt(r['available'])} covers {cover:.1f} days of demand "
                    f"(average {per_day:.2f}/day issued over the last {DEMAND_WINDOW_DAYS} days), "
                    f"below the {COVER_TARGET_DAYS}-day target"
                ),
                source="recent_demand",
                product_id=str(r["product_id"]),
                warehouse_id=str(r["warehouse_id"]),
                quantity=_fmt(quantity),
            )
        )
    return found


SUGGESTION_SOURCES: list[SuggestionSource] = [from_reorder_rules, from_recent_demand]


def register_source(source: SuggestionSource) -> SuggestionSource:
    """Add a source (e.g. forecast shortfalls, supplier risk); usable as a decorator."""
    if source not in SUGGESTION_SOURCES:
        SUGGESTION_SOURCES.append(source)
    return source


async def suggest(conn: asyncpg.Connection, *, limit: int = 20) -> list[Suggestion]:
    """All sources' suggestions; a product and warehouse suggested by a rule is not repeated by demand."""
    seen: set[tuple[str, str | None, str | None]] = set()
    found: list[Suggestion] = []
    for source in SUGGESTION_SOURCES:
        for s in await source(conn):
            key = (s.action, s.product_id, s.warehouse_id)
            if s.product_id is not None and key in seen:
                continue
            seen.add(key)
            found.append(s)
    return found[:limit]


def _fmt(value: Decimal | int | float) -> str:
    number = Decimal(value).normalize()
    return f"{number:f}"
