"""GET /exports/forecast.pdf through the app's routes (in-process model work, see conftest), read back with
pypdf and compared with what /ai/forecast/demand and /ai/forecast/inventory-policy answer for the same data."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader

from inventory.exports.pdf_document import FONT, ReportDocument
from inventory.exports.pdf_tables import format_number
from reports.forecast import QUANTILES_PARAM, SeriesForecast, key_figures, outlook, render_forecast_report
from reports.forecast_series import MAX_SERIES, SeriesRef
from tests.support.rows import insert, insert_many
from training import forecast_store, registry
from training.batch_forecast import STORED_QUANTILES
from training.history import current_period

NAME = "Śruba łączna M6 - Łódź"
HORIZON = 14


async def daily_demand(owner_pool, tenant, product, warehouse, days=150, seed=0):
    """A stock receipt, then one issue a day (weekday pattern) ending yesterday."""
    rng = np.random.default_rng(seed)
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=days)
    demand = [
        max(round(30 + 20 * ((start + timedelta(days=i)).weekday() < 5) + rng.normal(0, 3)), 0) for i in range(days)
    ]
    moves = [("receipt", Decimal(sum(demand) + 400), start - timedelta(hours=1))]
    moves += [("issue", Decimal(-q), start + timedelta(days=i)) for i, q in enumerate(demand) if q]
    rows = [
        {"tenant_id": tenant.id, "product_id": product, "warehouse_id": warehouse, "movement_type": kind,
         "quantity": quantity, "occurred_at": at}
        for kind, quantity, at in moves
    ]  # fmt: skip
    async with owner_pool.acquire() as conn:
        await insert_many(conn, "stock_movements", rows)


@pytest.fixture(scope="module")
async def planned_tenant(make_tenant, owner_pool):
    """Product 0 at warehouse 0: five months of demand, a non-Latin-1 name and a reorder rule with a lead time."""
    tenant = await make_tenant(units={0: "kg"})
    product, warehouse = tenant.products[0], tenant.warehouses[0]
    await daily_demand(owner_pool, tenant, product, warehouse)
    async with owner_pool.acquire() as conn:
        await conn.execute("UPDATE app.products SET name = $2 WHERE id = $1", product, NAME)
        supplier = await insert(conn, "suppliers", tenant_id=tenant.id, code="SUP-1", name="Zakład", lead_time_days=6)
        await insert(
            conn, "reorder_rules", tenant_id=tenant.id, product_id=product, warehouse_id=warehouse,
            supplier_id=supplier, min_quantity=100, max_quantity=400, lead_time_days=6,
        )  # fmt: skip
    return tenant


async def store_champion(database, tenant, levels, horizon=28, freq="D"):
    """A finished batch run of product 0 at warehouse 0, promoted, with its forecast stored at ``levels``."""
    product, warehouse = tenant.products[0], tenant.warehouses[0]

    async def arrange(tx):
        period = await current_period(tx.conn, datetime.now(UTC), freq, tenant_id=tenant.id)
        boundary = period.tz_localize(UTC).to_pydatetime()
        run = await registry.start_run(
            tx.conn, tenant.id, model_name=registry.champion_key(freq), model_type="auto",
            run_key=registry.batch_run_key(boundary, freq, horizon), freq=freq, horizon=horizon, training_end=boundary,
        )  # fmt: skip
        yhat = 40.0 + 10.0 * (np.arange(horizon) % 7 < 5)
        frame = pd.DataFrame(
            {"product_id": str(product), "warehouse_id": str(warehouse), "model": "auto_ets", "yhat": yhat,
             "ds": pd.date_range(period, periods=horizon, freq="7D" if freq == "W" else "D"),
             **{f"q{q:g}": yhat * (0.5 + q) for q in levels}}
        )  # fmt: skip
        await forecast_store.write_forecasts(tx.conn, tenant.id, run.id, frame)
        await registry.finish_run(tx.conn, tenant.id, run.id, metrics={"mase": 0.8}, series_count=1)
        assert (await registry.promote_if_better(tx.conn, tenant.id, run.id)).promoted

    await database.run(tenant.claims(), tenant.id, arrange)


def pdf_text(body: bytes) -> tuple[list[str], PdfReader]:
    reader = PdfReader(io.BytesIO(body))
    return [page.extract_text() for page in reader.pages], reader


async def test_the_forecast_report_prints_the_apis_figures_with_a_chart(api, planned_tenant):
    t = planned_tenant
    series = {"product_id": str(t.products[0]), "warehouse_id": str(t.warehouses[0])}
    response = await api.get("/api/v1/exports/forecast.pdf", params={**series, "horizon": HORIZON}, headers=t.headers())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    pages, reader = pdf_text(response.content)
    demand = (
        await api.get(
            "/api/v1/ai/forecast/demand",
            params={**series, "horizon": HORIZON, "quantiles": QUANTILES_PARAM},
            headers=t.headers(),
        )
    ).json()
    policy = (await api.post("/api/v1/ai/forecast/inventory-policy", json=series, headers=t.headers())).json()

    assert len(pages) == 2  # the summary, then one page for the one series
    assert "Demand forecast report" in pages[0] and "Largest expected stock-outs" in pages[0]
    assert f"SKU-0 · {NAME} · WH-0" in pages[1]  # non-Latin-1 text round-trips
    assert reader.pages[1].images, "the series page has no chart image"
    figures = pages[1]
    total = sum(p["yhat"] for p in demand["points"])
    assert f"{format_number(total, 1)} kg" in figures
    assert f"MASE {demand['backtest_mase']:.3f}" in figures
    assert demand["model"] in figures
    assert f"{format_number(policy['policy']['safety_stock'], 1)} kg" in figures
    assert f"{format_number(policy['recommended_reorder_point'], 1)} kg" in figures
    assert f"{format_number(policy['inventory_position'], 1)} kg" in figures
    assert "Page 2 of 2" in pages[1]
    # The summary's shortfall follows from the same figures.
    shortfall = max(total - policy["inventory_position"], 0.0)
    assert f"{format_number(shortfall, 1)} kg" in pages[0]


async def test_the_report_prints_the_stored_champion_forecast_the_demand_api_serves(
    api, make_tenant, owner_pool, database
):
    # Before, the batch stored 10/50/90% only, which the report's 2.5/97.5% made stale: the PDF refitted
    # ("ensemble (fitted on request)", another total) while /ai/forecast/demand served the stored champion.
    tenant = await make_tenant(units={0: "kg"})
    await daily_demand(owner_pool, tenant, tenant.products[0], tenant.warehouses[0], days=60)
    await store_champion(database, tenant, STORED_QUANTILES)
    series = {"product_id": str(tenant.products[0]), "warehouse_id": str(tenant.warehouses[0])}
    demand = (await api.get("/api/v1/ai/forecast/demand", params=series, headers=tenant.headers())).json()
    response = await api.get("/api/v1/exports/forecast.pdf", params=series, headers=tenant.headers())
    assert response.status_code == 200, response.text
    figures = pdf_text(response.content)[0][1]
    total = sum(p["yhat"] for p in demand["points"])
    assert (demand["source"], demand["model"], len(demand["points"])) == ("stored", "auto_ets", 28)
    assert f"Forecast demand, next 28 days {format_number(total, 1)} kg" in figures
    assert "auto_ets (stored batch forecast (champion run))" in figures


async def test_a_stored_forecast_without_the_95_percent_levels_is_printed_with_its_80_percent_interval(
    api, make_tenant, owner_pool, database
):
    # Before, a champion stored with 10/50/90% (every batch run until 2026-12-07) was stale to the report's
    # 2.5/97.5%: the PDF refitted each series while /ai/forecast/demand served the stored forecast.
    tenant = await make_tenant(units={0: "kg"})
    await daily_demand(owner_pool, tenant, tenant.products[0], tenant.warehouses[0], days=60)
    await store_champion(database, tenant, (0.1, 0.5, 0.9))
    series = {"product_id": str(tenant.products[0]), "warehouse_id": str(tenant.warehouses[0])}
    demand = (await api.get("/api/v1/ai/forecast/demand", params=series, headers=tenant.headers())).json()
    response = await api.get("/api/v1/exports/forecast.pdf", params=series, headers=tenant.headers())
    assert response.status_code == 200, response.text
    summary, figures = pdf_text(response.content)[0]
    total = sum(p["yhat"] for p in demand["points"])
    assert (demand["source"], demand["model"]) == ("stored", "auto_ets")
    assert f"Forecast demand, next 28 days {format_number(total, 1)} kg" in figures
    assert "auto_ets (stored batch forecast (champion run))" in figures
    assert "Intervals: 80% prediction intervals (the stored forecasts hold no 95% interval)" in summary
    assert "Intervals 80% only: the stored forecast holds no 95% interval" in figures


async def test_a_weekly_report_without_a_horizon_prints_the_13_weeks_the_weekly_champion_stored(
    api, make_tenant, owner_pool, database
):
    # Before, it asked 28 weeks, longer than the weekly batch stores, and refitted every series.
    tenant = await make_tenant(units={0: "kg"})
    await daily_demand(owner_pool, tenant, tenant.products[0], tenant.warehouses[0], days=150)
    await store_champion(database, tenant, STORED_QUANTILES, horizon=13, freq="W")
    series = {"product_id": str(tenant.products[0]), "warehouse_id": str(tenant.warehouses[0]), "freq": "W"}
    response = await api.get("/api/v1/exports/forecast.pdf", params=series, headers=tenant.headers())
    assert response.status_code == 200, response.text
    figures = pdf_text(response.content)[0][1]
    assert "Forecast demand, next 13 weeks" in figures
    assert "auto_ets (stored batch forecast (champion run))" in figures


async def test_a_series_without_a_lead_time_is_reported_without_stock_targets(api, planned_tenant, owner_pool):
    t = planned_tenant
    await daily_demand(owner_pool, t, t.products[1], t.warehouses[1], days=60, seed=1)
    response = await api.get(
        "/api/v1/exports/forecast.pdf",
        params={"warehouse_id": str(t.warehouses[1]), "horizon": 7},
        headers=t.headers(),
    )
    assert response.status_code == 200, response.text
    pages, reader = pdf_text(response.content)
    assert len(pages) == 2 and reader.pages[1].images
    assert "Product 1" in pages[1]
    assert "not computed: no lead time known" in pages[1]


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"product_id": "00000000-0000-0000-0000-000000000001"}, 404, "unknown_product"),
        ({"category": "nothing-here"}, 404, "no_matching_series"),
        ({"freq": "W", "horizon": 500}, 400, "horizon_out_of_range"),
    ],
)
async def test_bad_forecast_report_requests_are_refused_precisely(api, planned_tenant, params, status, code):
    response = await api.get("/api/v1/exports/forecast.pdf", params=params, headers=planned_tenant.headers())
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


async def test_more_series_than_a_report_holds_is_a_400(api, make_tenant, owner_pool):
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        for i in range(MAX_SERIES + 1):
            product = await conn.fetchval(
                "INSERT INTO app.products (tenant_id, sku, name) VALUES ($1, $2, $2) RETURNING id", tenant.id, f"X-{i}"
            )
            await conn.execute(
                "INSERT INTO app.stock_movements (tenant_id, product_id, warehouse_id, movement_type, quantity) "
                "VALUES ($1, $2, $3, 'receipt', 1)",
                tenant.id,
                product,
                tenant.warehouses[0],
            )
    response = await api.get("/api/v1/exports/forecast.pdf", headers=tenant.headers())
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "report_too_large"


async def test_deactivated_products_and_warehouses_are_reported_only_when_named(api, make_tenant, owner_pool):
    # Before, a discontinued product (or a closed warehouse) with a stock level took a series slot, a page and a
    # place in the stock-out ranking, with "Order now".
    tenant = await make_tenant()
    (active, gone), (open_warehouse, closed) = tenant.products, tenant.warehouses
    for seed, (product, warehouse) in enumerate([(active, open_warehouse), (gone, open_warehouse), (active, closed)]):
        await daily_demand(owner_pool, tenant, product, warehouse, days=60, seed=seed)
    async with owner_pool.acquire() as conn:
        await conn.execute("UPDATE app.products SET active = false WHERE id = $1", gone)
        await conn.execute("UPDATE app.warehouses SET active = false WHERE id = $1", closed)

    async def reported(**params: str) -> list[str]:
        response = await api.get("/api/v1/exports/forecast.pdf", params=params, headers=tenant.headers())
        assert response.status_code == 200, response.text
        summary, *series = pdf_text(response.content)[0]
        assert f"Series: {len(series)} product \u00d7 warehouse" in summary
        return [title for page in series for title in re.findall(r"SKU-\d · Product \d · WH-\d", page)]

    assert await reported() == ["SKU-0 · Product 0 · WH-0"]
    assert await reported(product_id=str(gone)) == ["SKU-1 · Product 1 · WH-0"]
    assert await reported(warehouse_id=str(closed)) == ["SKU-0 · Product 0 · WH-1"]


def test_a_weekly_stock_out_is_dated_from_the_first_day_of_its_week():
    # Weekly points are labelled by the Sunday that ends the week; before, the report dated the stock-out to it,
    # up to six days later than the data supports.
    ref = SeriesRef(uuid.uuid4(), "BOLT", "Bolt", "kg", uuid.uuid4(), "WH")
    points = [{"ds": f"2026-03-{day:02d}T00:00:00Z", "yhat": 10.0, "quantiles": {}} for day in (8, 15, 22)]
    item = SeriesForecast(ref, pd.DataFrame(), {"freq": "W", "points": points}, {"inventory_position": 13.0})
    assert outlook(item).stockout_on == datetime(2026, 3, 9)  # the Monday of the week ending Sunday 15 March


def error_figure(source: str, mase: float | None) -> tuple[str, str]:
    ref = SeriesRef(uuid.uuid4(), "BOLT", "Bolt", "kg", uuid.uuid4(), "WH")
    forecast = {"source": source, "model": "xgboost", "reason": "", "backtest_mase": mase, "freq": "D", "points": []}
    figures = key_figures(SeriesForecast(ref, pd.DataFrame(), forecast, None), 7, "days")
    (figure,) = [f for f in figures if f["figure"].endswith(" error")]
    return figure["figure"], figure["value"]


def test_a_trained_forecast_prints_its_series_holdout_error_and_a_fitted_one_its_backtest():
    # Before, a trained series printed the run's mean holdout MASE as its "Backtest error", the same for every product.
    held_out = "MASE 0.310 on this series' held-out last steps (lower is better)"
    assert error_figure("trained", 0.31) == ("Holdout error", held_out)
    assert error_figure("trained", None) == ("Holdout error", "not recorded for this series")
    assert error_figure("fitted", 0.52) == ("Backtest error", "MASE 0.520 (lower is better)")


@pytest.mark.parametrize(("service_level", "printed"), [(0.999, "99.9%"), (0.975, "97.5%"), (0.95, "95%")])
def test_the_service_level_is_printed_with_its_decimals(service_level, printed):
    # Before, it was rounded to a whole percent: 0.999 printed "Service level: 100%" and 0.975 "98%".
    body = render_forecast_report("T", datetime.now(UTC), "all", "D", 28, service_level, [])
    assert f"Service level: {printed} (cycle service level" in pdf_text(body)[0][0]


def runs_past_the_margin(page) -> list[str]:
    """The page's text runs that end beyond the right margin (x + width in the font each is set in)."""
    measure = ReportDocument("", "", datetime.now(UTC), "")
    edge, past = measure.w - measure.r_margin, []

    def visit(text, cm, tm, font, size):
        if text.strip() and font:
            measure.set_font(FONT, "B" if "Bold" in font["/BaseFont"] else "", size)
            if tm[4] * 25.4 / 72 + measure.get_string_width(text) > edge + 0.1:
                past.append(text)

    page.extract_text(visitor_text=visit)
    return past


def test_a_long_product_name_is_cut_in_the_series_heading_and_the_warehouse_code_stays_on_the_page():
    # Before, the heading was one cell: a 100-character name pushed the warehouse code past the page's edge.
    name = ("Hex head bolt DIN 933 / ISO 4017 M6 x 20 mm, steel 8.8, zinc plated, " * 3)[:150]
    ref = SeriesRef(uuid.uuid4(), "FST-DIN933-M6X20-ZN", name, "each", uuid.uuid4(), "BER-01-MAIN-CROSSDOCK")
    points = [{"ds": f"2026-03-{day:02d}T00:00:00Z", "yhat": 10.0, "quantiles": {}} for day in range(1, 8)]
    forecast = {"freq": "D", "points": points, "model": "auto_ets", "reason": "", "source": "fitted",
                "backtest_mase": None}  # fmt: skip
    item = SeriesForecast(ref, pd.DataFrame({"ds": [], "y": []}), forecast, None)
    body = render_forecast_report("T", datetime.now(UTC), "all", "D", 7, 0.95, [item])
    pages, reader = pdf_text(body)
    assert runs_past_the_margin(reader.pages[1]) == []
    assert "FST-DIN933-M6X20-ZN · Hex head bolt DIN 933 / ISO 4017" in pages[1]
    assert "… · BER-01-MAIN-CROSSDOCK" in pages[1]
