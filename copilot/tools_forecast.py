"""The copilot's demand forecast tool: the champion run's stored forecast, never a fit."""

from __future__ import annotations

from typing import Any

import pandas as pd

from copilot.tool_base import MAX_ROWS, MORE_OF, MORE_ROWS, RISKIEST, Tool, ToolContext, ToolResult
from training import forecast_store, registry

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
        return ToolResult("demand_forecast", {}, [await _no_champion(context, prefer)])
    steps, label = NEXT_PERIOD[run.freq]
    batch = await registry.batch_run_beside(context.conn, context.tx.tenant_id, run)
    runs = {r.id: r for r in (run, batch) if r is not None}
    # A series the champion lacks comes from the batch run of the same night, which forecasts every series: a Ray
    # Train run keeps only those with 8 horizons of history, and /ai/forecast/demand fits the others. It is the
    # run the champion's loss would reinstate (until 2026-12-07 the newest version, a hand-run shorter batch).
    of_run = """(f.run_id = ($1::uuid[])[1] OR (f.run_id = ($1::uuid[])[2] AND NOT EXISTS (
                     SELECT FROM app.demand_forecasts c WHERE c.run_id = ($1::uuid[])[1]
                     AND c.product_id = f.product_id AND c.warehouse_id = f.warehouse_id)))"""
    # Each series' days are its warehouse's calendar days, so "next" starts at the warehouse's date (the
    # reader's where its zone is not known), as the stock-out projection's does: that day for a daily run; for
    # a weekly one, whose ds is the Sunday ending each week, the Sunday ending next week.
    first_day = """app.warehouse_today(w.timezone, $2::date)
                   + CASE WHEN $3 = 'W' THEN 14 - extract(isodow FROM app.warehouse_today(w.timezone, $2::date))::int
                          ELSE 0 END"""
    # The warehouses named narrow the series, as they do the stock levels ("forecast for SKU-1 at WH-1"); none
    # named: every warehouse (until 2026-12-07 the named one was ignored and another warehouse's figure quoted).
    places = [w["id"] for w in context.mentions.warehouses]
    in_places = "(cardinality($4::uuid[]) = 0 OR f.warehouse_id = ANY($4::uuid[]))"
    if context.products:
        # Each product named gets its first warehouse before any gets a second, and a cut list says so.
        series = await context.conn.fetch(
            f"""SELECT * FROM (
                    SELECT DISTINCT f.run_id, f.product_id, f.warehouse_id, p.sku, p.name, p.unit_of_measure,
                           w.code AS warehouse_code, {first_day} AS first_day
                    FROM app.demand_forecasts f
                    JOIN app.products p ON p.id = f.product_id JOIN app.warehouses w ON w.id = f.warehouse_id
                    WHERE {of_run} AND f.product_id = ANY($5::uuid[]) AND {in_places}) s
                ORDER BY row_number() OVER (PARTITION BY s.product_id ORDER BY s.warehouse_code), s.sku,
                         s.warehouse_code
                LIMIT $6""",
            list(runs),
            context.today,
            run.freq,
            places,
            [p["id"] for p in context.products],
            MAX_ROWS + 1,
        )
        arguments: dict[str, Any] = {"products": [p["sku"] for p in context.products]}
    else:
        # The largest next period first; series that end before it (a stale champion's) after them, so they are
        # quoted as stale rather than left out (until 2026-12-07 a stale champion read "has no series").
        series = await context.conn.fetch(
            f"""SELECT f.run_id, f.product_id, f.warehouse_id, p.sku, p.name, p.unit_of_measure,
                       w.code AS warehouse_code, d.first_day, count(*) OVER () AS series_count
                FROM app.demand_forecasts f
                JOIN app.products p ON p.id = f.product_id JOIN app.warehouses w ON w.id = f.warehouse_id
                CROSS JOIN LATERAL (SELECT {first_day} AS first_day) d
                WHERE {of_run} AND {in_places}
                GROUP BY f.run_id, f.product_id, f.warehouse_id, p.sku, p.name, p.unit_of_measure, w.code, d.first_day
                ORDER BY sum(f.yhat) FILTER (WHERE (f.ds AT TIME ZONE 'UTC')::date >= d.first_day) DESC NULLS LAST,
                         max(f.ds) DESC, p.sku, w.code
                LIMIT $5""",
            list(runs),
            context.today,
            run.freq,
            places,
            RISKIEST,
        )
        arguments = {"largest": RISKIEST}
    if places:
        arguments["warehouses"] = [w["code"] for w in context.mentions.warehouses]
    arguments |= {"model_name": run.model_name, "run_version": run.version, "period": label}
    if batch is not None:
        arguments["batch_run_version"] = batch.version
    more, series = len(series) > MAX_ROWS, series[:MAX_ROWS]
    lines = []
    data = []
    for row in series:
        source = runs[row["run_id"]]
        frame = await forecast_store.stored_forecast(
            context.conn, context.tx.tenant_id, source.id, row["product_id"], row["warehouse_id"]
        )
        start = pd.Timestamp(row["first_day"])
        upcoming = frame[frame["ds"] >= start.to_pydatetime()].head(steps)
        where = f"{row['sku']} ({row['name']}) at {row['warehouse_code']}"
        if upcoming.empty:
            stale = f"the stored forecast ends before {start:%Y-%m-%d} (stale)"
            lines.append(f"{where}: {stale}; {run_name(source, run)}")
            continue
        levels = sorted(float(c[1:]) for c in upcoming.columns if c.startswith("q"))
        total = float(upcoming["yhat"].sum())
        first = upcoming["ds"].iloc[0]
        span = f"({first - pd.Timedelta(days=6):%Y-%m-%d} to {first:%Y-%m-%d})" if run.freq == "W" else ""
        # In the product's unit, as the stock lines beside it are (until 2026-12-07 "units" whatever it was).
        unit = row["unit_of_measure"]
        text = f"{where}, {label} {span or f'from {first:%Y-%m-%d}'}: {total:.1f} {unit} forecast"
        if len(upcoming) < steps:  # a total of fewer days than the label names would read as the whole period's
            text = (
                f"{where}, {label} from {first:%Y-%m-%d}: the stored forecast covers only "
                f"{len(upcoming)} of them (it ends {upcoming['ds'].iloc[-1]:%Y-%m-%d}), {total:.1f} {unit} forecast"
                f" for those {len(upcoming)}"
            )
        item: dict[str, Any] = {
            "product_id": row["product_id"],
            "warehouse_id": row["warehouse_id"],
            "total": round(total, 1),
            "unit": unit,
            "periods": len(upcoming),
        }
        if len(levels) >= 2:
            low, high = (float(upcoming[f"q{q:g}"].sum()) for q in (levels[0], levels[-1]))
            text += f" (interval {low:.1f} to {high:.1f}, sum of P{levels[0] * 100:g} and P{levels[-1] * 100:g})"
            item |= {"low": round(low, 1), "high": round(high, 1)}
        text += f"; model {upcoming['model'].iloc[0]}, {run_name(source, run)}"
        lines.append(text)
        data.append(item)
    if more:
        lines.append(MORE_ROWS)
    elif not context.products and series and series[0]["series_count"] > len(series):
        # The largest 5 of more must not read as all there are (until 2026-12-07 they did).
        lines.append(MORE_OF.format(shown=len(series), total=series[0]["series_count"]))
    lines += await _not_stored(context, list(runs), series, _run_names(run, batch))
    return ToolResult("demand_forecast", arguments, lines or ["the stored forecast has no series"], data)


async def _no_champion(context: ToolContext, freqs: tuple[str, ...]) -> str:
    """Why there is no stored forecast to quote: no run at all, or the latest run's state when none is champion
    (until 2026-12-07 both read "the batch forecast job has not produced one", also after the batch had run)."""
    for freq in freqs:
        latest = await registry.list_runs(context.conn, context.tx.tenant_id, registry.champion_key(freq), 1)
        if latest:
            run = latest[0]
            trained = f"{run.training_end:%Y-%m-%d}" if run.training_end else "unknown"
            why = run.promotion_note or run.metrics.get("error") or "no promotion decision yet"
            return (
                f"no stored demand forecast in use: no forecast run is champion; the latest, v{run.version} "
                f"({run.model_type}, trained on data before {trained}), is {run.status}: {why}"
            )
    return "no stored demand forecast yet (the batch forecast job has not produced one)"


async def _not_stored(context: ToolContext, run_ids: list[Any], series: list[Any], runs: str) -> list[str]:
    """A "no stored forecast" line for each product named at each warehouse named (at any where none is), or each
    warehouse named where no product is, of which the runs hold no series: one the listed lines left out (a cut
    list) is not "no forecast", and a warehouse without one is said to be, not answered with another's figure."""
    warehouses: list[dict[str, Any] | None] = [*context.mentions.warehouses] or [None]
    wanted: list[tuple[dict[str, Any] | None, dict[str, Any] | None]]
    if context.products:
        wanted = [(product, warehouse) for product in context.products for warehouse in warehouses]
    else:
        wanted = [(None, warehouse) for warehouse in context.mentions.warehouses]
    lines = []
    for product, warehouse in wanted:
        product_id = product["id"] if product else None
        warehouse_id = warehouse["id"] if warehouse else None
        listed = any(
            product_id in (None, r["product_id"]) and warehouse_id in (None, r["warehouse_id"]) for r in series
        )
        if not listed and not await _stored(context, run_ids, product_id, warehouse_id):
            if product is None:
                subject = f"{warehouse['code']} ({warehouse['name']})" if warehouse else ""
            else:
                subject = f"{product['sku']} ({product['name']})" + (f" at {warehouse['code']}" if warehouse else "")
            lines.append(f"{subject}: no stored forecast in {runs}")
    return lines


async def _stored(context: ToolContext, run_ids: list[Any], product_id: Any, warehouse_id: Any) -> bool:
    """Whether the runs hold a series of the product (any when None) at the warehouse (any when None)."""
    found: bool = await context.conn.fetchval(
        """SELECT EXISTS (SELECT FROM app.demand_forecasts WHERE run_id = ANY($1::uuid[])
                          AND ($2::uuid IS NULL OR product_id = $2) AND ($3::uuid IS NULL OR warehouse_id = $3))""",
        run_ids,
        product_id,
        warehouse_id,
    )
    return found


def run_name(source: registry.RunRecord, champion: registry.RunRecord) -> str:
    """The run a figure comes from: the champion, or the batch run beside a champion that lacks the series
    (until 2026-12-07 such a series read "no stored forecast", though /ai/forecast/demand forecast it). The
    stock-out projection names the batch run it draws on so too."""
    trained = f"{source.training_end:%Y-%m-%d}" if source.training_end else "unknown"
    if source.id == champion.id:
        return f"champion run v{champion.version} trained on data before {trained}"
    return (
        f"batch run v{source.version} trained on data before {trained} (champion run v{champion.version}, "
        f"{champion.model_type}, has no forecast of this series)"
    )


def _run_names(champion: registry.RunRecord, batch: registry.RunRecord | None) -> str:
    return f"champion run v{champion.version}" + (f" or batch run v{batch.version}" if batch else "")


FORECAST = Tool(
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
