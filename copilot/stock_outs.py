"""When stock runs out at a warehouse if nothing arrives: available stock drawn down by the champion's stored
forecast, or else by recent issues. Read by the copilot's expedite suggestions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

from common.database import TenantTransaction
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


@dataclass(frozen=True)
class StockOut:
    """When a product runs out at a warehouse if nothing arrives, and what that projection rests on."""

    on: date
    available: Decimal
    per_day: float
    basis: str


async def projected_stock_outs(
    tx: TenantTransaction, pairs: set[tuple[UUID, UUID]], today: date
) -> dict[tuple[UUID, UUID], StockOut]:
    """Available stock (on hand - reserved) drawn down by the champion's stored daily or weekly forecast,
    or else by the last 28 days' average issues; pairs with no demand are left out. Days count from the
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
    for freq, step in FORECAST_STEP_DAYS.items():
        run = await registry.champion(tx.conn, tx.tenant_id, registry.champion_key(freq))
        if run is None:
            continue
        points = await tx.conn.fetch(
            """SELECT f.product_id, f.warehouse_id, (f.ds AT TIME ZONE 'UTC')::date AS day, f.yhat
               FROM app.demand_forecasts f
               JOIN unnest($2::uuid[], $3::uuid[]) AS s(product_id, warehouse_id)
                 ON s.product_id = f.product_id AND s.warehouse_id = f.warehouse_id
               WHERE f.run_id = $1 AND (f.ds AT TIME ZONE 'UTC')::date >= $4::date
               ORDER BY f.product_id, f.warehouse_id, f.ds""",
            run.id,
            products,
            warehouses,
            min(day_of.values(), default=today),
        )
        series: dict[tuple[UUID, UUID], list[tuple[date, float]]] = {}
        for p in points:
            key = (p["product_id"], p["warehouse_id"])
            if p["day"] >= day_of[key]:
                series.setdefault(key, []).append((p["day"], float(p["yhat"])))
        for key, forecast in series.items():
            if key in found:
                continue
            day = _run_out(available[key], forecast, step, day_of[key])
            if day is not None:
                per_day = sum(y for _, y in forecast) / (len(forecast) * step)
                found[key] = StockOut(day, available[key], per_day, f"stored forecast v{run.version} ({freq})")
    rows = await tx.conn.fetch(RECENT_DEMAND, DEMAND_WINDOW_DAYS)
    for r in rows:
        key = (r["product_id"], r["warehouse_id"])
        if key in pairs and key not in found and r["per_day"] > 0:
            days_left = max(available[key], Decimal(0)) / r["per_day"]
            # 200,000 kg on hand and 1 kg issued last month last 16,000 years: past any date an order can
            # name (and past the calendar's year 9999, which failed the suggestions), so no stock-out.
            if days_left > (LATEST_PLANNED - day_of[key]).days:
                continue
            found[key] = StockOut(
                day_of[key] + timedelta(days=int(days_left)),
                available[key],
                float(r["per_day"]),
                f"average issues over the last {DEMAND_WINDOW_DAYS} days",
            )
    return found


def _run_out(available: Decimal, forecast: list[tuple[date, float]], step: int, today: date) -> date | None:
    """The day cumulative forecast demand (each point covering ``step`` days up to its date, spread evenly)
    reaches ``available``; None if it never does within the forecast."""
    if available <= 0:
        return today
    left = float(available)
    for day, demand in forecast:
        begin = max(day - timedelta(days=step - 1), today)
        days = (day - begin).days + 1
        # Only the part of a period from today on still draws stock down.
        remaining = demand * days / step
        if remaining >= left and remaining > 0:
            return begin + timedelta(days=int(left / (remaining / days)))
        left -= remaining
    return None
