"""Expedite, review-supplier and reorder-rule suggestions from open orders, stock, stored forecasts, risk scores
and reorder rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from copilot import stock_outs, suggestions
from copilot.tools import run_tools
from tests.copilot.conftest import as_user
from tests.copilot.live_rows import (
    add_forecast,
    add_order,
    add_risky_and_safe_supplier,
    add_risky_supplier,
    add_scanned_score,
    add_supplier,
    add_suppliers,
)
from tests.support.rows import insert


def of(found, action):
    return [s for s in found if s.action == action]


async def issued_yesterday(conn, tenant, quantity: Decimal | int) -> None:
    """One issue of ``quantity`` of the first product from the first warehouse, a day ago."""
    await conn.execute(
        "INSERT INTO app.stock_movements (tenant_id, product_id, warehouse_id, movement_type, quantity, "
        "occurred_at) VALUES ($1, $2, $3, 'issue', $4, $5)",
        tenant.id,
        tenant.products[0],
        tenant.warehouses[0],
        -quantity,
        datetime.now(UTC) - timedelta(days=1),
    )


async def expedites(
    database, make_tenant, owner_pool, today, stock: int, due: list[tuple[int, int]], *, forecast=None, issued=None
):
    """The expedite suggestions for a tenant with ``stock`` of its first product in its first warehouse, orders of
    it from ACME that land ``due`` (days from ``today``, quantity), and its demand: a stored ``forecast`` from
    ``today`` or one issue of ``issued`` yesterday. Returns the tenant, the orders (id, number) and the suggestions."""
    tenant = await make_tenant(stock={0: Decimal(stock)})
    async with owner_pool.acquire() as conn:
        acme = await add_supplier(conn, tenant, "ACME", "Acme")
        orders = [await add_order(conn, tenant, acme, today + timedelta(days=d), [(0, q, 1)]) for d, q in due]
        if forecast is not None:
            await add_forecast(conn, tenant, 0, today, forecast)
        if issued is not None:
            await issued_yesterday(conn, tenant, issued)
    return tenant, orders, of(await as_user(database, tenant)(lambda tx: suggestions.suggest(tx)), "expedite")


async def test_an_overdue_order_is_suggested_for_expediting_with_its_days_late(
    database, make_tenant, owner_pool, today
):
    _, [(order, number)], [expedite] = await expedites(database, make_tenant, owner_pool, today, 1000, [(-6, 10)])
    assert expedite.title == f"Expedite {number} from ACME to WH-0"
    assert expedite.reason == f"expected {today - timedelta(days=6)}, now 6 days late"
    assert expedite.purchase_order_id == str(order) and expedite.figures["days_late"] == 6


async def test_days_late_count_from_the_date_in_the_members_time_zone(database, make_tenant, owner_pool, today):
    # A zone whose date differs from UTC's right now: UTC+14 from 10:00 UTC, UTC-12 before 12:00 UTC.
    zone, their_today = (
        ("Etc/GMT-14", today + timedelta(days=1))
        if datetime.now(UTC).hour >= 10
        else ("Etc/GMT+12", today - timedelta(days=1))
    )
    tenant = await make_tenant(stock={0: Decimal(1000)})
    async with owner_pool.acquire() as conn:
        acme = await add_supplier(conn, tenant, "ACME", "Acme")
        await add_order(conn, tenant, acme, today - timedelta(days=3), [(0, 10, 1)])
        await conn.execute(
            "INSERT INTO app.member_profiles (tenant_id, user_id, timezone) VALUES ($1, $2, $3)",
            tenant.id,
            tenant.planner,
            zone,
        )
    (expedite,) = of(await as_user(database, tenant)(lambda tx: suggestions.suggest(tx)), "expedite")
    assert expedite.figures["days_late"] == (their_today - (today - timedelta(days=3))).days
    (other,) = of(await as_user(database, tenant, tenant.viewer)(lambda tx: suggestions.suggest(tx)), "expedite")
    assert other.figures["days_late"] == 3  # no profile: UTC


async def dock_and_reader(make_tenant, owner_pool, stock: int, dock_zone: str, reader_zone: str):
    """A tenant with ``stock`` of its first product in its first warehouse, kept in ``dock_zone``, a supplier ACME,
    and the planner reading in ``reader_zone``; returns the tenant, the dock's date and the supplier."""
    tenant = await make_tenant(stock={0: Decimal(stock)})
    async with owner_pool.acquire() as conn:
        await conn.execute("UPDATE app.warehouses SET timezone = $2 WHERE id = $1", tenant.warehouses[0], dock_zone)
        await conn.execute(
            "INSERT INTO app.member_profiles (tenant_id, user_id, timezone) VALUES ($1, $2, $3)",
            tenant.id, tenant.planner, reader_zone,
        )  # fmt: skip
        acme = await add_supplier(conn, tenant, "ACME", "Acme")
    return tenant, datetime.now(ZoneInfo(dock_zone)).date(), acme


async def test_days_late_count_on_the_receiving_warehouses_calendar_when_it_has_a_zone(
    database, make_tenant, owner_pool
):
    # The reader at UTC-12, the dock at UTC+14: the order was due yesterday there, which is still tomorrow (or
    # the day after) for the reader. Before, it was not late at all.
    tenant, dock_today, acme = await dock_and_reader(make_tenant, owner_pool, 1000, "Etc/GMT-14", "Etc/GMT+12")
    async with owner_pool.acquire() as conn:
        await add_order(conn, tenant, acme, dock_today - timedelta(days=1), [(0, 10, 1)])
    (expedite,) = of(await as_user(database, tenant)(lambda tx: suggestions.suggest(tx)), "expedite")
    assert expedite.figures["days_late"] == 1
    # Read on an earlier date, the reason says which day it counted from.
    assert expedite.reason == f"expected {dock_today - timedelta(days=1)}, now 1 days late (it is {dock_today} at WH-0)"


async def test_an_order_landing_after_the_forecast_stock_out_is_suggested_for_expediting(
    database, make_tenant, owner_pool, today
):
    # 30 available, 10 a day: out on day 3
    _, [(_, number)], [expedite] = await expedites(
        database, make_tenant, owner_pool, today, 30, [(10, 50)], forecast=[10.0] * 14
    )
    assert expedite.reason == (
        f"expected {today + timedelta(days=10)}; SKU-0 at WH-0 runs out around {today + timedelta(days=3)} "
        "(7 days before it lands): available 30, demand 10.00/day from the stored forecast v1 (D)"
    )
    assert expedite.figures["stockout_date"] == (today + timedelta(days=3)).isoformat()
    assert expedite.title.startswith(f"Expedite {number}")


async def test_another_order_landing_first_counts_before_the_stock_out_is_projected(
    database, make_tenant, owner_pool, today
):
    # Before, each order's stock-out ignored the other open orders: with 20 more landing on day 2, 30 available at
    # 10 a day runs out on day 5, not day 3 (and the order landing on day 2 needs no expediting).
    _, [_, (_, later)], [expedite] = await expedites(
        database, make_tenant, owner_pool, today, 30, [(2, 20), (10, 50)], forecast=[10.0] * 14
    )
    assert expedite.title.startswith(f"Expedite {later}")
    assert expedite.figures["stockout_date"] == (today + timedelta(days=5)).isoformat()
    assert "(5 days before it lands): available 30 plus 20 due on other orders by then" in expedite.reason


@pytest.mark.parametrize("lands", [0, 1])
async def test_an_order_landing_by_the_forecasts_first_day_meets_its_demand(
    database, make_tenant, owner_pool, today, lands
):
    # A forecast from tomorrow (the batch's UTC date, a day ahead of an American reader's evening) and no stock:
    # 100 landing today or tomorrow last the first 20 days. Before, one landing today was never added ("out
    # tomorrow"), and with one landing tomorrow the stock was out today: either way the order of 10 landing on
    # day 11 was to be expedited.
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        acme = await add_supplier(conn, tenant, "ACME", "Acme")
        await add_order(conn, tenant, acme, today + timedelta(days=lands), [(0, 100, 1)])
        await add_order(conn, tenant, acme, today + timedelta(days=11), [(0, 10, 1)])
        await add_forecast(conn, tenant, 0, today + timedelta(days=1), [5.0] * 20)
    assert of(await as_user(database, tenant)(lambda tx: suggestions.suggest(tx, today=today)), "expedite") == []


async def test_the_stock_out_day_counts_from_the_warehouses_date_as_its_forecast_and_orders_do(
    database, make_tenant, owner_pool
):
    # The dock at UTC-12, the reader at UTC+14, a day or two ahead of it: the dock's today still draws stock
    # down. Before, the forecast's days before the reader's date were skipped: out a day or two later.
    tenant, dock_today, acme = await dock_and_reader(make_tenant, owner_pool, 30, "Etc/GMT+12", "Etc/GMT-14")
    async with owner_pool.acquire() as conn:
        await add_order(conn, tenant, acme, dock_today + timedelta(days=10), [(0, 50, 1)])
        await add_forecast(conn, tenant, 0, dock_today, [10.0] * 14)  # 30 available, 10 a day: out on day 3
    (expedite,) = of(await as_user(database, tenant)(lambda tx: suggestions.suggest(tx)), "expedite")
    assert expedite.figures["stockout_date"] == (dock_today + timedelta(days=3)).isoformat()


async def test_a_pair_a_trained_champion_has_no_forecast_of_runs_out_on_the_batch_run_beside_it(
    database, make_tenant, owner_pool, today
):
    # Before, the projection read the champion's forecast only: no series of SKU-0 there and no issues, so no
    # stock-out and no expedite, while the forecast tool quoted the batch run's 10 a day.
    tenant = await make_tenant(stock={0: Decimal(30)})
    async with owner_pool.acquire() as conn:
        acme = await add_supplier(conn, tenant, "ACME", "Acme")
        await add_order(conn, tenant, acme, today + timedelta(days=10), [(0, 50, 1)])
        batch = await add_forecast(conn, tenant, 0, today, [10.0] * 14, version=1)  # 30 available: out on day 3
        await conn.execute("UPDATE app.forecast_runs SET status = 'candidate' WHERE id = $1", batch)
        trained = await add_forecast(conn, tenant, 1, today, [1.0] * 14, version=2)
        await conn.execute("UPDATE app.forecast_runs SET model_type = 'xgboost' WHERE id = $1", trained)
    (expedite,) = of(await as_user(database, tenant)(lambda tx: suggestions.suggest(tx)), "expedite")
    assert expedite.reason.endswith(
        f"runs out around {today + timedelta(days=3)} (7 days before it lands): available 30, demand 10.00/day from "
        f"the stored forecast (D) of batch run v1 trained on data before {today} (champion run v2, xgboost, has no "
        "forecast of this series)"
    )


async def test_without_a_forecast_the_stock_out_comes_from_recent_issues(database, make_tenant, owner_pool, today):
    # 56 over 28 days: 2 a day; 44 left lasts 22 days
    _, _, [expedite] = await expedites(database, make_tenant, owner_pool, today, 100, [(30, 50)], issued=56)
    assert f"runs out around {today + timedelta(days=22)} (8 days before it lands): available 44" in expedite.reason
    assert expedite.reason.endswith("demand 2.00/day from the average issues over the last 28 days")


async def test_recent_issues_draw_down_the_other_orders_arrivals_too(database, make_tenant, owner_pool, today):
    # 2 a day: 44 left and 20 more on day 5 last 32 days
    _, _, [expedite] = await expedites(database, make_tenant, owner_pool, today, 100, [(5, 20), (40, 50)], issued=56)
    assert expedite.figures["stockout_date"] == (today + timedelta(days=32)).isoformat()


async def test_stock_that_recent_issues_would_not_use_up_before_2200_projects_no_stock_out(
    database, make_tenant, owner_pool, today
):
    # 200,000 on hand, 1 issued this month: at 1/28 a day it lasts 15,000 years, past the calendar's year 9999
    # (the suggestions failed on it).
    tenant, _, found = await expedites(database, make_tenant, owner_pool, today, 200_001, [(30, 50)], issued=1)
    pairs = {(tenant.products[0], tenant.warehouses[0])}
    assert await as_user(database, tenant)(lambda tx: stock_outs.projected_stock_outs(tx, pairs, today)) == {}
    assert found == []


async def test_an_order_arriving_before_the_stock_out_is_not_expedited(database, make_tenant, owner_pool, today):
    # runs out in 30 days: beyond the forecast
    _, _, found = await expedites(database, make_tenant, owner_pool, today, 300, [(5, 50)], forecast=[10.0] * 14)
    assert found == []


async def test_a_forecast_that_shows_no_stock_out_is_not_overruled_by_one_bulk_issue(
    database, make_tenant, owner_pool, today
):
    # Before, the pair fell back to the month's average issue (280 yesterday: 10/day), restarted from today: "runs
    # out in 10 days", while the stored forecast (2/day) has 100 last past its horizon.
    _, _, found = await expedites(
        database, make_tenant, owner_pool, today, 380, [(20, 50)], issued=280, forecast=[2.0] * 28
    )
    assert found == []


async def test_a_supplier_at_the_alert_threshold_is_suggested_for_review_with_its_drivers(
    database, make_tenant, owner_pool, today
):
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        risky, _ = await add_risky_and_safe_supplier(conn, tenant, today)
    (review,) = of(await as_user(database, tenant)(lambda tx: suggestions.suggest(tx)), "review_supplier")
    assert review.title == "Review supplier RISKY (Risky Supply)"
    assert review.reason.startswith("risk score 94/100 (high), at or above the review threshold 60; top drivers: ")
    assert review.figures["overall"] == 94 and review.supplier_id == str(risky)


async def test_a_supplier_whose_score_rose_since_the_last_scan_is_suggested_for_review(
    database, make_tenant, owner_pool, today
):
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        rising, steady = await add_suppliers(conn, tenant, ("RISING", "Rising Supply"), ("STEADY", "Steady Supply"))

    async def scores(tx):
        ranking = await suggestions.risk_service.rank_suppliers(tx, today, limit=10)
        return {s["supplier"]["code"]: s["overall"] for s in ranking["suppliers"]}

    now = await as_user(database, tenant)(scores)
    assert now["RISING"] < suggestions.REVIEW_SCORE
    async with owner_pool.acquire() as conn:
        await add_scanned_score(conn, tenant, rising, now["RISING"] - 7.5)
        await add_scanned_score(conn, tenant, steady, now["STEADY"] - 1)
    (review,) = of(await as_user(database, tenant)(lambda tx: suggestions.suggest(tx)), "review_supplier")
    assert review.supplier_id == str(rising)
    assert f"up 7.5 since the last scan ({now['RISING'] - 7.5:g})" in review.reason
    assert review.figures["change"] == 7.5


async def test_the_copilot_quotes_expedite_and_review_suggestions(database, make_tenant, owner_pool, today):
    tenant = await make_tenant(stock={0: Decimal(1000)})
    async with owner_pool.acquire() as conn:
        risky = await add_risky_supplier(conn, tenant, "RISKY", "Risky Supply", today)
        _, number = await add_order(conn, tenant, risky, today - timedelta(days=2), [(0, 10, 1)])
    results = await as_user(database, tenant)(lambda tx: run_tools(tx, "What should I expedite or review?"))
    (found,) = [r for r in results if r.name == "action_suggestions"]
    assert f"Expedite {number} from RISKY to WH-0: expected {today - timedelta(days=2)}, now 2 days late" in found.lines
    assert any(line.startswith("Review supplier RISKY (Risky Supply): risk score 94/100") for line in found.lines)


async def test_a_reorder_rule_whose_lead_time_is_not_known_is_suggested_with_the_lead_time_unknown(
    database, make_tenant, owner_pool
):
    # Before, neither the rule nor the supplier giving one read "lead time 0 days", arriving the day it is ordered.
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        acme = await add_supplier(conn, tenant, "ACME", "Acme")
        await insert(
            conn, "reorder_rules", tenant_id=tenant.id, product_id=tenant.products[0],
            warehouse_id=tenant.warehouses[0], supplier_id=acme, min_quantity=10, max_quantity=20,
        )  # fmt: skip
    found = await as_user(database, tenant)(lambda tx: suggestions.suggest(tx))
    (reorder,) = [s for s in of(found, "reorder") if s.source == "reorder_rules"]
    assert reorder.reason.endswith("below the reorder minimum 10; lead time unknown"), reorder.reason
    assert reorder.figures["lead_time_days"] is None


async def recent_demand_reorders(database, make_tenant, owner_pool, issued: Decimal, *, unit="each", stock=None):
    """The recent-demand reorder suggestions for a tenant whose first product, in ``unit``, had ``stock`` received
    (what was issued, none left, if not given) and ``issued`` issued yesterday."""
    tenant = await make_tenant(stock={0: issued if stock is None else stock}, units={0: unit})
    async with owner_pool.acquire() as conn:
        await issued_yesterday(conn, tenant, issued)
    found = await as_user(database, tenant)(lambda tx: suggestions.suggest(tx))
    return [s for s in of(found, "reorder") if s.source == "recent_demand"]


async def test_a_need_of_less_than_half_a_large_unit_is_suggested_as_it_is_not_as_0(database, make_tenant, owner_pool):
    # Before, every need was rounded half to even to a whole unit: 0.45 t read "Reorder about 0 x SKU-0".
    (reorder,) = await recent_demand_reorders(database, make_tenant, owner_pool, Decimal("0.45"), unit="t")
    assert reorder.quantity == "0.45"
    assert reorder.title.startswith("Reorder about 0.45 x SKU-0")


async def test_a_measured_units_need_is_rounded_up_to_three_significant_figures(database, make_tenant, owner_pool):
    # 12.3456 kg issued, none left: 12.4 (not 12) kg, the reason's daily demand not "0.00/day" for 0.05 t.
    (reorder,) = await recent_demand_reorders(database, make_tenant, owner_pool, Decimal("12.3456"), unit="kg")
    assert reorder.quantity == "12.4"
    (slow,) = await recent_demand_reorders(database, make_tenant, owner_pool, Decimal("0.05"), unit="t")
    assert slow.quantity == "0.05" and "(average 0.0018/day issued" in slow.reason


@pytest.mark.parametrize(("stock", "quantity"), [(Decimal("10.7"), "10"), (Decimal(10), "10")])
async def test_a_counted_units_need_is_rounded_up_to_whole_units(database, make_tenant, owner_pool, stock, quantity):
    # 10 issued leaves 0.7 each (a need of 9.3: 9 before) or none (10, not 11 from the average's last digits).
    (reorder,) = await recent_demand_reorders(database, make_tenant, owner_pool, Decimal(10), stock=stock)
    assert reorder.quantity == quantity


async def test_a_cover_just_short_of_the_target_does_not_read_as_the_target(database, make_tenant, owner_pool):
    # 84 issued (3 a day), 41.9 left: 13.97 days, which read "covers 14.0 days ... below the 14-day target".
    (reorder,) = await recent_demand_reorders(database, make_tenant, owner_pool, Decimal(84), stock=Decimal("125.9"))
    assert reorder.reason.startswith("available 41.9 covers 13.9 days of demand (average 3.00/day")
    assert reorder.figures["cover_days"] == "13.9" and reorder.quantity == "43"
