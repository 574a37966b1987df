"""Action suggestions: what a planner should do now, each with its reason and the figures behind it.

Sources are plain async functions over the caller's tenant transaction (row-level security applies):
reorder rules and recent demand ("reorder these products"), open purchase orders that are overdue or will
land after the projected stock-out ("expedite these POs"), and suppliers whose risk score is high or rising
("review this supplier"). More plug in with ``register_source``.

``suggest`` lets the sources take turns, each source's most urgent first: a tenant with hundreds of products below
their reorder minimum still sees its overdue orders and risky suppliers among the first suggestions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from itertools import zip_longest
from typing import Any

from common.database import TenantTransaction
from copilot.stock_outs import DEMAND_WINDOW_DAYS, RECENT_DEMAND, projected_stock_outs
from copilot.tool_base import dock_date
from inventory import members, order_book, reorder
from inventory.order_rounding import exact_order_step, round_up
from inventory.records import ids_of
from risk import scan_results
from risk import service as risk_service

COVER_TARGET_DAYS = 14
LEDGER_QUANTUM = Decimal("0.0001")  # stock quantities are numeric(18, 4)
# Open orders looked at for expediting (the most overdue first), and suppliers for review (riskiest first).
EXPEDITE_SCAN_LIMIT = 200
REVIEW_SCAN_LIMIT = 200
# A supplier is worth a review at the early-warning alert threshold ("high" band), or once it rose this much.
REVIEW_SCORE = risk_service.ScanThresholds().supplier_score.raise_at
RISING_POINTS = 5.0


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
    purchase_order_id: str | None = None
    figures: dict[str, Any] = field(default_factory=dict)  # the numbers in the reason, machine-readable

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# A source reads under the caller's transaction as of their date (their profile's time zone).
SuggestionSource = Callable[[TenantTransaction, date], Awaitable[list[Suggestion]]]


async def from_reorder_rules(tx: TenantTransaction, today: date) -> list[Suggestion]:
    """Active reorder rules whose projected stock (on hand + incoming - reserved) is below the minimum, the
    furthest below it (for its size) first."""
    proposals = sorted(await reorder.proposals(tx.conn, {}, today), key=_share_of_minimum)
    return [
        Suggestion(
            action="reorder",
            title=f"Reorder {_fmt(p['quantity'])} x {p['sku']} for {p['warehouse_code']} from {p['supplier_code']}",
            reason=(
                f"projected stock {_fmt(p['projected'])} (on hand {_fmt(p['on_hand'])} + incoming "
                f"{_fmt(p['incoming'])} - reserved {_fmt(p['reserved'])}) is below the reorder minimum "
                f"{_fmt(p['min_quantity'])}; {_lead_time(p['lead_time_days'])}"
            ),
            source="reorder_rules",
            **ids_of(p, "product_id", "warehouse_id", "supplier_id"),
            quantity=_fmt(p["quantity"]),
            figures={name: _fmt(p[name]) for name in ("projected", "on_hand", "incoming", "reserved", "min_quantity")}
            | {"lead_time_days": p["lead_time_days"]},
        )
        for p in proposals
    ]


def _share_of_minimum(proposal: dict[str, Any]) -> Decimal:
    """How much of its minimum a rule's projected stock covers; a minimum of 0 is undercut only by stock reserved
    beyond what there is, the most urgent."""
    if proposal["min_quantity"] > 0:
        return Decimal(proposal["projected"] / proposal["min_quantity"])
    return Decimal("-Infinity")


async def from_recent_demand(tx: TenantTransaction, today: date) -> list[Suggestion]:
    """Active stock whose available quantity plus what open purchase orders still bring (drafts included, as for
    the reorder rules) covers fewer than 14 days of the last 28 days' average issues."""
    rows = await tx.conn.fetch(
        f"""WITH demand AS ({RECENT_DEMAND}),
           covered AS (
               SELECT l.product_id, l.sku, l.product_name, l.warehouse_id, l.warehouse_code, l.available, d.per_day,
                      app.incoming_quantity(p.tenant_id, l.product_id, l.warehouse_id) AS incoming,
                      -- what a proposal rounds to: the location's active rule's multiple, the unit's whole items
                      p.unit_of_measure, u.category AS unit_category, u.ratio AS unit_ratio,
                      (SELECT r.order_multiple FROM app.reorder_rules r
                        WHERE r.product_id = l.product_id AND r.warehouse_id = l.warehouse_id AND r.active)
                        AS order_multiple
               FROM app.stock_level_details l
               JOIN app.products p ON p.id = l.product_id
               LEFT JOIN app.units_of_measure u ON u.code = p.unit_of_measure
               JOIN app.warehouses w ON w.id = l.warehouse_id
               JOIN demand d ON d.product_id = l.product_id AND d.warehouse_id = l.warehouse_id
               -- a discontinued product or a closed warehouse is sold off, not reordered (as reorder proposals)
               WHERE d.per_day > 0 AND l.available < d.per_day * $2 AND p.active AND w.active
           )
           SELECT * FROM covered WHERE available + incoming < per_day * $2
           ORDER BY (available + incoming) / per_day, sku""",
        DEMAND_WINDOW_DAYS,
        COVER_TARGET_DAYS,
    )
    found = []
    for r in rows:
        per_day: Decimal = r["per_day"]
        supply = r["available"] + r["incoming"]
        # Down, so a cover just short of the target never reads as the target.
        cover = (supply / per_day).quantize(Decimal("0.1"), rounding=ROUND_FLOOR)
        # per_day is the window's issues divided past the ledger's decimals: back at them first, so 10 issued over
        # 28 days is a need of 10, not 10.00...08 rounded up to 11.
        need = (per_day * COVER_TARGET_DAYS * 2).quantize(LEDGER_QUANTUM, rounding=ROUND_HALF_UP) - supply
        if need <= 0:
            continue
        step = exact_order_step(r["order_multiple"], r["unit_of_measure"], r["unit_category"], r["unit_ratio"])
        quantity = _round_up(need, step)
        stock = f"available {_fmt(r['available'])}"
        if r["incoming"] > 0:
            stock += f" plus {_fmt(r['incoming'])} on order"
        found.append(
            Suggestion(
                action="reorder",
                title=f"Reorder about {_fmt(quantity)} x {r['sku']} ({r['product_name']}) for {r['warehouse_code']}",
                reason=(
                    f"{stock} covers {cover} days of demand "
                    f"(average {_rate(per_day)}/day issued over the last {DEMAND_WINDOW_DAYS} days), "
                    f"below the {COVER_TARGET_DAYS}-day target"
                ),
                source="recent_demand",
                **ids_of(r, "product_id", "warehouse_id"),
                quantity=_fmt(quantity),
                figures={
                    "available": _fmt(r["available"]),
                    "incoming": _fmt(r["incoming"]),
                    "cover_days": str(cover),
                    "per_day": _rate(per_day),
                },
            )
        )
    return found


async def expedite_purchase_orders(tx: TenantTransaction, today: date) -> list[Suggestion]:
    """Open orders past their expected date, or expected after a product they bring runs out."""
    orders = await order_book.open_orders(tx.conn, today, limit=EXPEDITE_SCAN_LIMIT)
    pairs = {(line["product_id"], o["warehouse_id"]) for o in orders for line in o["outstanding"]}
    # What the other open orders bring on their expected days (a late one's day is not known: none). An order's
    # own arrival changes nothing before it lands, so one projection per product and warehouse serves them all.
    arrivals: dict[tuple[Any, Any], list[tuple[date, Decimal]]] = defaultdict(list)
    for o in orders:
        if o["expected_date"] is not None and o["days_late"] <= 0:
            for line in o["outstanding"]:
                arrivals[(line["product_id"], o["warehouse_id"])].append((o["expected_date"], line["quantity"]))
    stock_outs = await projected_stock_outs(tx, pairs, today, arrivals)
    found = []
    for order in orders:
        if order["expected_date"] is None or not order["outstanding"]:
            continue
        short = sorted(
            (
                (stock_outs[(line["product_id"], order["warehouse_id"])], line)
                for line in order["outstanding"]
                if (line["product_id"], order["warehouse_id"]) in stock_outs
            ),
            key=lambda pair: (pair[0].on, pair[1]["sku"]),
        )
        first = short[0] if short else None
        late = order["days_late"] > 0
        if not late and (first is None or first[0].on >= order["expected_date"]):
            continue
        reasons = []
        if late:
            note = dock_date(order, today)
            reasons.append(
                f"expected {order['expected_date']}, now {order['days_late']} days late"
                + (f" ({note})" if note else "")
            )
        else:
            reasons.append(f"expected {order['expected_date']}")
        figures: dict[str, Any] = {
            "number": order["number"],
            "expected_date": order["expected_date"].isoformat(),
            "days_late": order["days_late"],
        }
        if first is not None and first[0].on < order["expected_date"]:
            out, line = first
            reasons.append(
                f"{line['sku']} at {order['warehouse_code']} runs out around {out.on} "
                f"({(order['expected_date'] - out.on).days} days before it lands): available {_fmt(out.available)}"
                + (f" plus {_fmt(out.arriving)} due on other orders by then" if out.arriving else "")
                + f", demand {out.per_day:.2f}/day from the {out.basis}"
            )
            figures |= {
                "sku": line["sku"],
                "stockout_date": out.on.isoformat(),
                "available": _fmt(out.available),
                "arriving_before": _fmt(out.arriving),
                "per_day": f"{out.per_day:.2f}",
                "basis": out.basis,
            }
        found.append(
            Suggestion(
                action="expedite",
                title=f"Expedite {order['number']} from {order['supplier_code']} to {order['warehouse_code']}",
                reason="; ".join(reasons),
                source="open_purchase_orders",
                product_id=str(first[1]["product_id"]) if first else None,
                **ids_of(order, "warehouse_id", "supplier_id"),
                purchase_order_id=str(order["id"]),
                figures=figures,
            )
        )
    return found


async def review_suppliers(tx: TenantTransaction, today: date) -> list[Suggestion]:
    """Suppliers whose risk score is at the alert threshold or rose since the early-warning job's last scan."""
    # On each receiving warehouse's calendar, as the scan's stored scores it is compared with.
    ranking = await risk_service.rank_suppliers(tx, today, limit=REVIEW_SCAN_LIMIT, at=datetime.now(UTC))
    scanned = await scan_results.scanned_supplier_scores(tx.conn)
    last_values = {supplier_id: row["last_value"] for supplier_id, row in scanned.items()}
    reviews = (_supplier_review(item, last_values.get(item["supplier"]["id"])) for item in ranking["suppliers"])
    return [review for review in reviews if review is not None]


def _supplier_review(item: dict[str, Any], last_value: float | None) -> Suggestion | None:
    """The review of one ranked supplier (``last_value``: its score at the last scan, if scanned); None when its
    score is below the review threshold and did not rise enough since that scan."""
    supplier, score = item["supplier"], item["overall"]
    change = score - last_value if last_value is not None else None
    rising = change is not None and change >= RISING_POINTS
    if score < REVIEW_SCORE and not rising:
        return None
    reasons = [f"risk score {score:g}/100 ({item['band']})"]
    if score >= REVIEW_SCORE:
        reasons[0] += f", at or above the review threshold {REVIEW_SCORE:g}"
    if change is not None:
        reasons.append(f"{'up' if change >= 0 else 'down'} {abs(change):.1f} since the last scan ({last_value:g})")
    drivers = [f for f in item["top_factors"] if f["contribution"] > 0][:3]
    if drivers:
        reasons.append(
            "top drivers: " + ", ".join(f"{f['component']} {f['factor']} (+{f['contribution']:g})" for f in drivers)
        )
    return Suggestion(
        action="review_supplier",
        title=f"Review supplier {supplier['code']} ({supplier['name']})",
        reason="; ".join(reasons),
        source="supplier_risk",
        supplier_id=str(supplier["id"]),
        figures={
            "overall": score,
            "band": item["band"],
            "components": item["components"],
            "last_scan": last_value,
            "change": round(change, 2) if change is not None else None,
            "top_drivers": [
                {"factor": f"{f['component']}.{f['factor']}", "contribution": f["contribution"]} for f in drivers
            ],
        },
    )


# Also the order in which the sources take turns; a rule's reorder goes before demand's of the same stock.
SUGGESTION_SOURCES: list[SuggestionSource] = [
    expedite_purchase_orders,
    from_reorder_rules,
    from_recent_demand,
    review_suppliers,
]


def register_source(source: SuggestionSource) -> SuggestionSource:
    """Add a source; usable as a decorator."""
    if source not in SUGGESTION_SOURCES:
        SUGGESTION_SOURCES.append(source)
    return source


async def suggest(
    tx: TenantTransaction, *, today: date | None = None, limit: int = 20, actions: Collection[str] | None = None
) -> list[Suggestion]:
    """The first ``limit`` suggestions as of ``today`` (the caller's date when not given), of the ``actions`` given
    (all when None): the sources take turns, in ``SUGGESTION_SOURCES`` order, each giving its most urgent first
    (the most overdue order, the rule furthest below its minimum, the shortest cover, the riskiest supplier),
    until one runs out and the others go on. A product and warehouse suggested by a rule is not repeated by demand.
    Ask for one more than is shown to know whether there are more. Until 2026-12-07 the sources' lists were
    joined end to end, so 20 reorder rules pushed every expedite and review past the first 20."""
    day = today or await members.today_for(tx.conn, tx.user_id)
    seen: set[tuple[str, str | None, str | None, str | None]] = set()
    by_source: list[list[Suggestion]] = []
    for source in SUGGESTION_SOURCES:
        kept = []
        for s in await source(tx, day):
            key = (s.action, s.product_id, s.warehouse_id, s.purchase_order_id)
            if s.product_id is not None and key in seen:
                continue
            seen.add(key)
            if actions is None or s.action in actions:
                kept.append(s)
        by_source.append(kept)
    in_turns = [s for turn in zip_longest(*by_source) for s in turn if s is not None]
    return in_turns[:limit]


def _fmt(value: Decimal | int | float) -> str:
    number = Decimal(value).normalize()
    return f"{number:f}"


def _round_up(need: Decimal, step: Decimal | None) -> Decimal:
    """A positive need rounded up, never to 0: to ``step`` as a proposal rounds (``inventory.order_rounding``: the
    rule's multiple, whole items of a count unit); with no step (measured, no multiple) to three significant figures
    (whole units from 100 up, not finer than the ledger). Until 2026-12-07 0.45 t read "Reorder about 0"; until
    2026-12-08 2.1 dozen read 3 (a proposal: 2.25) and a rule's multiple was not looked at."""
    if step is not None:
        return round_up(need, step)
    three_figures = Decimal(1).scaleb(need.adjusted() - 2)
    return need.quantize(min(Decimal(1), max(LEDGER_QUANTUM, three_figures)), rounding=ROUND_CEILING)


def _rate(per_day: Decimal) -> str:
    """Two decimals, or two significant figures where two decimals would read 0.00 (a slow product in tonnes)."""
    if per_day >= Decimal("0.01"):
        return f"{per_day:.2f}"
    return _fmt(per_day.quantize(Decimal(1).scaleb(per_day.adjusted() - 1), rounding=ROUND_HALF_UP))


def _lead_time(days: int | None) -> str:
    """Neither the rule nor the supplier may give one: until 2026-12-07 that read "lead time 0 days"."""
    return "lead time unknown" if days is None else f"lead time {days} days"
