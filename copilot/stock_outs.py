"""When stock runs out at a warehouse: available stock drawn down by the champion's stored forecast (a series a
trained champion lacks from the batch run beside it, as the forecast tool quotes it), or else by recent issues,
with the arrivals the caller knows of added on their days. Read by the copilot's expedite suggestions."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

from common.database import TenantTransaction
from copilot.tools_forecast import run_name
from inventory.schemas import LATEST_PLANNED
from training import registry

DEMAND_WINDOW_DAYS = 28
# Days each stored forecast point covers, per frequency the batch job writes.
FORECAST_STEP_DAYS = {"D": 1, "W": 7}

# Average units issued per day over the last DEMAND_WINDOW_DAYS, per product and warehouse.
RECENT_DEMAND = """
    SELECT product_id, warehouse_id, -sum(quantity) / $1::int AS per_day
    FROM app.stock_movements
    WHERE movement_type = 'issue' AND occurred_at >= now() - make_interval(days => $1::int)
    GROUP BY product_id, warehouse_id"""


Arrivals = Mapping[tuple[UUID, UUID], Sequence[tuple[date, Decimal]]]


@dataclass(frozen=True)
class StockOut:
    """When a product runs out at a warehouse, and what that projection rests on: ``arriving`` is what the
    arrivals it was given brought in before that day."""

    on: date
    available: Decimal
    per_day: float
    basis: str
    arriving: Decimal = Decimal(0)


async def projected_stock_outs(
    tx: TenantTransaction, pairs: set[tuple[UUID, UUID]], today: date, arrivals: Arrivals | None = None
) -> dict[tuple[UUID, UUID], StockOut]:
    """Available stock (on hand - reserved) drawn down by the champion's stored daily or weekly forecast,
    or else by the last 28 days' average issues, with ``arrivals`` (quantities by day) added as they come;
    pairs with no demand are left out. Days count from the
    warehouse's current date, on its calendar as its forecast and its orders' expected dates are (``today``, the
    reader's date, where the warehouse's time zone is not known)."""
    if not pairs:
        return {}
    products, warehouses = [p for p, _ in pairs], [w for _, w in pairs]
    levels = await tx.conn.fetch(
        """SELECT s.product_id, s.warehouse_id, coalesce(l.available, 0) AS available,
                  app.warehouse_today(w.timezone, $3::date) AS today
           FROM unnest($1::uuid[], $2::uuid[]) AS s(product_id, warehouse_id)
           JOIN app.warehouses w ON w.id = s.warehouse_id
           LEFT JOIN app.stock_level_details l ON l.product_id = s.product_id AND l.warehouse_id = s.warehouse_id""",
        products,
        warehouses,
        today,
    )
    available = {(r["product_id"], r["warehouse_id"]): r["available"] for r in levels}
    day_of = {(r["product_id"], r["warehouse_id"]): r["today"] for r in levels}
    found: dict[tuple[UUID, UUID], StockOut] = {}
    forecast_covers: set[tuple[UUID, UUID]] = set()  # the forecast decides these, stock-out or none
    for freq, step in FORECAST_STEP_DAYS.items():
        run = await registry.champion(tx.conn, tx.tenant_id, registry.champion_key(freq))
        if run is None:
            continue
        # A pair a trained champion has no series of is drawn down by the batch run of its night, as the forecast
        # tool quotes it (until 2026-12-07 by recent issues, or not at all: no stock-out, no expedite).
        batch = await registry.batch_run_beside(tx.conn, tx.tenant_id, run)
        points = await tx.conn.fetch(
            """SELECT f.run_id, f.product_id, f.warehouse_id, (f.ds AT TIME ZONE 'UTC')::date AS day, f.yhat
               FROM app.demand_forecasts f
               JOIN unnest($2::uuid[], $3::uuid[]) AS s(product_id, warehouse_id)
                 ON s.product_id = f.product_id AND s.warehouse_id = f.warehouse_id
               WHERE (f.run_id = $1 OR (f.run_id = $5::uuid AND NOT EXISTS (
                         SELECT FROM app.demand_forecasts c WHERE c.run_id = $1
                         AND c.product_id = f.product_id AND c.warehouse_id = f.warehouse_id)))
                 AND (f.ds AT TIME ZONE 'UTC')::date >= $4::date
               ORDER BY f.product_id, f.warehouse_id, f.ds""",
            run.id,
            products,
            warehouses,
            min(day_of.values(), default=today),
            batch.id if batch is not None else None,
        )
        series: dict[tuple[UUID, UUID], list[tuple[date, float]]] = {}
        source: dict[tuple[UUID, UUID], UUID] = {}
        for p in points:
            key = (p["product_id"], p["warehouse_id"])
            if p["day"] >= day_of[key]:
                series.setdefault(key, []).append((p["day"], float(p["yhat"])))
                source[key] = p["run_id"]
        for key, forecast in series.items():
            if key in found:
                continue
            daily = _daily(forecast, step, day_of[key])
            forecast_covers.add(key)
            if (out := _run_out(available[key], daily, day_of[key], (arrivals or {}).get(key, ()))) is not None:
                per_day = sum(daily.values()) / len(daily)
                basis = f"stored forecast v{run.version} ({freq})"
                if batch is not None and source[key] == batch.id:
                    basis = f"stored forecast ({freq}) of {run_name(batch, run)}"
                found[key] = StockOut(out[0], available[key], per_day, basis, out[1])
    rows = await tx.conn.fetch(RECENT_DEMAND, DEMAND_WINDOW_DAYS)
    for r in rows:
        key = (r["product_id"], r["warehouse_id"])
        # Recent issues stand in only where no forecast covers the pair: one that shows no stock-out within its
        # horizon is not overruled by a month's average restarted from today (one bulk issue made it 10/day).
        if key in pairs and key not in forecast_covers and r["per_day"] > 0:
            came = sorted((d, q) for d, q in (arrivals or {}).get(key, ()) if d >= day_of[key])
            brought = sum((q for _, q in came), Decimal(0))
            # Linear use between arrivals: only up to the last arrival needs days; after it, one division.
            horizon = (came[-1][0] - day_of[key]).days + 1 if came else 0
            daily = {day_of[key] + timedelta(days=k): float(r["per_day"]) for k in range(horizon)}
            out = _run_out(available[key], daily, day_of[key], came)
            if out is None:
                days_left = max(available[key] + brought - r["per_day"] * horizon, Decimal(0)) / r["per_day"]
                # 200,000 kg on hand and 1 kg issued last month last 16,000 years: past any date an order can
                # name (and past the calendar's year 9999, which failed the suggestions), so no stock-out.
                if horizon + days_left > (LATEST_PLANNED - day_of[key]).days:
                    continue
                out = (day_of[key] + timedelta(days=horizon + int(days_left)), brought)
            basis = f"average issues over the last {DEMAND_WINDOW_DAYS} days"
            found[key] = StockOut(out[0], available[key], float(r["per_day"]), basis, out[1])
    return found


def _daily(forecast: list[tuple[date, float]], step: int, today: date) -> dict[date, float]:
    """Demand per day from today on: each point covers ``step`` days up to its date, spread evenly."""
    days: dict[date, float] = {}
    for day, demand in forecast:
        for k in range(step):
            if (covered := day - timedelta(days=k)) >= today:
                days[covered] = demand / step
    return dict(sorted(days.items()))


def _run_out(
    available: Decimal, daily: dict[date, float], today: date, arrivals: Sequence[tuple[date, Decimal]]
) -> tuple[date, Decimal] | None:
    """The first day ``available``, plus the arrivals come by then (each from the start of its day), cannot meet
    that day's ``daily`` demand, and what those arrivals brought; None if there is none within ``daily``."""
    days = list(daily)
    # Each arrival counts once, on the first day of demand on or after its date: a forecast can start after
    # ``today`` (the batch's UTC date, a day ahead of an American reader's evening), and what lands before its
    # first day is there for it (until 2026-12-07 only an arrival dated on a forecast day, or on ``today``, was).
    landed: dict[date, Decimal] = {}
    for arrival_day, quantity in arrivals:
        if (at := bisect_left(days, arrival_day)) < len(days):
            landed[days[at]] = landed.get(days[at], Decimal(0)) + quantity
    left, arrived = float(available), Decimal(0)
    if left <= 0 and (days[0] if days else today) not in landed:
        return today, arrived
    for day, demand in daily.items():
        if day in landed:
            left, arrived = left + float(landed[day]), arrived + landed[day]
        if demand > left:  # the first day that starts without enough for its demand
            return day, arrived
        left -= demand
    return None
