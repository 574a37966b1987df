"""Demand history from the stock ledger, against the real schema. A supplier's order history:
test_supplier_history.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from tests.support.rows import set_time_zone
from tests.support.tenant_reads import as_planner
from training.history import IMPUTE_WINDOW_SEASONS, current_period, demand_history, series_id

AS_OF = datetime(2025, 3, 12, 15, 30, tzinfo=UTC)  # a Wednesday


async def post(conn, tenant, product, warehouse, kind, quantity, when, **extra):
    await conn.execute(
        "INSERT INTO app.stock_movements (tenant_id, product_id, warehouse_id, movement_type, quantity, occurred_at, "
        "transfer_id, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        tenant.id,
        product,
        warehouse,
        kind,
        Decimal(quantity),
        when,
        extra.get("transfer_id"),
        extra.get("reason"),
    )


def morning_before(days: int) -> datetime:
    """8:00 on the day ``days`` days before AS_OF."""
    return (AS_OF - timedelta(days=days)).replace(hour=8, minute=0)


async def receive_then_sell(conn, tenant, first: datetime, received, sold_a_day, days: int) -> None:
    """Product 0 at warehouse 0: ``received`` units at ``first``, then ``sold_a_day`` issued on each of ``days``
    days from ``first``'s (two hours after ``first``'s time)."""
    p, w = tenant.products[0], tenant.warehouses[0]
    await post(conn, tenant, p, w, "receipt", received, first)
    for day in range(days):
        await post(conn, tenant, p, w, "issue", -Decimal(sold_a_day), first + timedelta(days=day, hours=2))


@pytest.fixture
async def ledger(make_tenant, owner_pool):
    """Product 0 at warehouse 0: stocked 10 days before AS_OF, issues on some days, plus non-demand moves."""
    tenant = await make_tenant()
    p, w = tenant.products[0], tenant.warehouses[0]
    day = AS_OF.replace(hour=10, minute=0) - timedelta(days=10)
    async with owner_pool.acquire() as conn:
        await post(conn, tenant, p, w, "receipt", 1000, day)
        await post(conn, tenant, p, w, "issue", -5, day + timedelta(days=1))
        await post(conn, tenant, p, w, "issue", -3, day + timedelta(days=1, hours=2))
        await post(conn, tenant, p, w, "issue", -7, day + timedelta(days=4))
        await post(conn, tenant, p, w, "adjustment", -2, day + timedelta(days=5), reason="damaged")
        transfer = uuid.uuid4()
        await post(conn, tenant, p, w, "transfer_out", -50, day + timedelta(days=6), transfer_id=transfer)
        await post(
            conn, tenant, p, tenant.warehouses[1], "transfer_in", 50, day + timedelta(days=6), transfer_id=transfer
        )
        # Today's issue is in a partial period: never part of the history.
        await post(conn, tenant, p, w, "issue", -100, AS_OF - timedelta(hours=1))
    return tenant


async def test_daily_demand_is_issues_only_zero_filled_up_to_yesterday(database, ledger):
    p, w = ledger.products[0], ledger.warehouses[0]
    history = await as_planner(database, ledger, lambda c: demand_history(c, freq="D", as_of=AS_OF, product_id=p))
    series = history[history["unique_id"] == series_id(p, w)]
    assert series["ds"].min() == pd.Timestamp("2025-03-02")  # the day of the first movement
    assert series["ds"].max() == pd.Timestamp("2025-03-11")  # yesterday: today is incomplete
    assert series["y"].tolist() == [0, 8, 0, 0, 7, 0, 0, 0, 0, 0]


async def test_a_location_with_stock_but_no_issues_has_zero_demand(database, ledger):
    p, other = ledger.products[0], ledger.warehouses[1]
    history = await as_planner(database, ledger, lambda c: demand_history(c, freq="D", as_of=AS_OF, product_id=p))
    series = history[history["unique_id"] == series_id(p, other)]
    assert len(series) == 4 and (series["y"] == 0).all()


async def test_weekly_demand_is_labelled_by_the_sunday_ending_each_week(database, ledger):
    p, w = ledger.products[0], ledger.warehouses[0]
    history = await as_planner(
        database, ledger, lambda c: demand_history(c, freq="W", as_of=AS_OF, product_id=p, warehouse_id=w)
    )
    assert history["ds"].tolist() == [pd.Timestamp("2025-03-02"), pd.Timestamp("2025-03-09")]
    assert history["y"].tolist() == [0, 15]


async def test_another_tenants_ledger_is_invisible(database, ledger, make_tenant):
    stranger = await make_tenant()
    history = await as_planner(database, stranger, lambda c: demand_history(c, freq="D", as_of=AS_OF))
    assert history.empty
    assert list(history.columns) == ["unique_id", "product_id", "warehouse_id", "ds", "y"]


async def test_unknown_frequency_is_refused(database, ledger):
    from training.errors import ForecastInputError

    with pytest.raises(ForecastInputError, match="'D' or 'W'"):
        await as_planner(database, ledger, lambda c: demand_history(c, freq="h", as_of=AS_OF))


async def zoned_ledger(make_tenant, owner_pool, zone: str, moves: list[tuple[str, int, datetime]]):
    """A tenant whose first warehouse keeps ``zone``'s calendar, with ``moves`` (kind, quantity, when) there."""
    tenant = await make_tenant()
    await set_time_zone(owner_pool, tenant.warehouses[0], zone)
    async with owner_pool.acquire() as conn:
        for kind, quantity, when in moves:
            await post(conn, tenant, tenant.products[0], tenant.warehouses[0], kind, quantity, when)
    return tenant


async def test_demand_is_counted_on_the_warehouses_own_calendar_day(database, make_tenant, owner_pool):
    moves = [
        ("receipt", 100, datetime(2025, 3, 5, 18, tzinfo=UTC)),  # 10:00 PST on the 5th
        ("issue", -4, datetime(2025, 3, 8, 3, tzinfo=UTC)),  # 19:00 PST on the 7th
        ("issue", -6, datetime(2025, 3, 10, 6, tzinfo=UTC)),  # 23:00 PDT on the 9th
    ]
    tenant = await zoned_ledger(make_tenant, owner_pool, "America/Los_Angeles", moves)
    p = tenant.products[0]
    history = await as_planner(database, tenant, lambda c: demand_history(c, freq="D", as_of=AS_OF, product_id=p))
    by_day = history.set_index("ds")["y"]
    assert by_day.index.min() == pd.Timestamp("2025-03-05")
    assert by_day[by_day > 0].to_dict() == {pd.Timestamp("2025-03-07"): 4, pd.Timestamp("2025-03-09"): 6}


async def test_weeks_end_on_the_warehouses_own_sunday(database, make_tenant, owner_pool):
    moves = [
        ("receipt", 100, datetime(2025, 2, 24, 1, tzinfo=UTC)),
        ("issue", -9, datetime(2025, 3, 2, 16, tzinfo=UTC)),  # Monday 01:00 in Tokyo
    ]
    tenant = await zoned_ledger(make_tenant, owner_pool, "Asia/Tokyo", moves)
    p, w = tenant.products[0], tenant.warehouses[0]
    history = await as_planner(
        database, tenant, lambda c: demand_history(c, freq="W", as_of=AS_OF, product_id=p, warehouse_id=w)
    )
    assert history.set_index("ds")["y"].to_dict() == {pd.Timestamp("2025-03-02"): 0, pd.Timestamp("2025-03-09"): 9}


async def test_the_history_ends_with_the_last_day_complete_in_every_warehouse(database, make_tenant, owner_pool):
    tenant = await make_tenant()
    p, west, utc = tenant.products[0], tenant.warehouses[0], tenant.warehouses[1]
    await set_time_zone(owner_pool, west, "America/Los_Angeles")
    as_of = datetime(2025, 3, 12, 3, 0, tzinfo=UTC)  # 20:00 on the 11th in Los Angeles: its 11th is not over
    async with owner_pool.acquire() as conn:
        for warehouse in (west, utc):
            await post(conn, tenant, p, warehouse, "receipt", 100, datetime(2025, 3, 9, 18, tzinfo=UTC))
        await post(conn, tenant, p, west, "issue", -5, datetime(2025, 3, 11, 20, tzinfo=UTC))  # 13:00 on the 11th

    async def read(conn):
        return await current_period(conn, as_of, "D"), await demand_history(conn, freq="D", as_of=as_of)

    start, history = await as_planner(database, tenant, read)
    assert start == pd.Timestamp("2025-03-11")
    # One grid for the panel: the UTC warehouse's complete 11th waits for Los Angeles's; the partial 11th is
    # not read as a day with 5 units.
    assert history.groupby("warehouse_id")["ds"].max().to_dict() == {
        west: pd.Timestamp("2025-03-10"),
        utc: pd.Timestamp("2025-03-10"),
    }
    assert history["y"].sum() == 0


async def test_a_closed_warehouse_does_not_hold_the_panel_back(database, make_tenant, owner_pool):
    tenant = await make_tenant()
    await set_time_zone(owner_pool, tenant.warehouses[0], "Pacific/Honolulu")
    await owner_pool.execute("UPDATE app.warehouses SET active = false WHERE id = $1", tenant.warehouses[0])
    as_of = datetime(2025, 3, 12, 3, 0, tzinfo=UTC)  # still the 11th in Honolulu

    async def start(conn):
        return await current_period(conn, as_of, "D")

    assert await as_planner(database, tenant, start) == pd.Timestamp("2025-03-12")


async def test_the_current_period_is_utcs_for_a_tenant_without_warehouses(owner_pool):
    async with owner_pool.acquire() as conn:
        start = await current_period(conn, AS_OF, "W", tenant_id=uuid.uuid4())
    assert start == pd.Timestamp("2025-03-10")  # the Monday starting AS_OF's week


@pytest.mark.parametrize(
    ("zone", "as_of", "freq", "expected"),
    [
        # Cairo's clocks jump from 00:00 to 01:00 on 24 April 2026: that midnight never happens.
        ("Africa/Cairo", datetime(2026, 4, 24, 10, tzinfo=UTC), "D", "2026-04-24"),
        # Havana's fall from 01:00 to 00:00 on 1 November 2026: that midnight happens twice.
        ("America/Havana", datetime(2026, 11, 1, 15, tzinfo=UTC), "D", "2026-11-01"),
        # Beirut's spring forward at 00:00 on Sunday 29 March 2026, inside the week from Monday the 23rd.
        ("Asia/Beirut", datetime(2026, 3, 29, 10, tzinfo=UTC), "W", "2026-03-23"),
    ],
)
async def test_the_current_period_holds_on_a_day_whose_dst_change_is_at_midnight(
    database, make_tenant, owner_pool, zone, as_of, freq, expected
):
    tenant = await make_tenant()
    await set_time_zone(owner_pool, tenant.warehouses[0], zone)

    async def start(conn):
        return await current_period(conn, as_of, freq)

    assert await as_planner(database, tenant, start) == pd.Timestamp(expected)


@pytest.fixture
async def stocked_out(make_tenant, owner_pool):
    """10 units a day for three weeks, then empty shelves for four days, then restocked."""
    tenant = await make_tenant()
    first = morning_before(28)
    async with owner_pool.acquire() as conn:
        await receive_then_sell(conn, tenant, first, "210", "10", 21)
        # Days 21-24: no stock, no sales. Restocked on day 25.
        await receive_then_sell(conn, tenant, first + timedelta(days=25), "100", "10", 3)
    return tenant


async def test_stocked_out_days_are_imputed_from_in_stock_days(database, stocked_out):
    p = stocked_out.products[0]
    history = await as_planner(database, stocked_out, lambda c: demand_history(c, freq="D", as_of=AS_OF, product_id=p))
    assert len(history) == 28
    # The last sale day emptied the shelf: its 10 units stand; the four empty days read as 10 too.
    assert history["y"].tolist() == [10.0] * 28


async def test_observed_sales_are_kept_on_request(database, stocked_out):
    p = stocked_out.products[0]
    history = await as_planner(
        database, stocked_out, lambda c: demand_history(c, freq="D", as_of=AS_OF, product_id=p, stockouts="keep")
    )
    assert history["y"].tolist() == [10.0] * 21 + [0.0] * 4 + [10.0] * 3


async def test_a_shelf_emptied_by_fractional_sales_is_a_stock_out(database, make_tenant, owner_pool):
    tenant = await make_tenant()
    p = tenant.products[0]
    async with owner_pool.acquire() as conn:
        await receive_then_sell(conn, tenant, morning_before(28), "12.6", "0.7", 18)
    history = await as_planner(
        database, tenant, lambda c: demand_history(c, freq="D", as_of=AS_OF, product_id=p, stockouts="impute")
    )
    # 12.6 - 18 x 0.7 is exactly zero in the ledger's decimals (2.4e-15 left over as floats): the empty days
    # are censored like those of whole units.
    assert history["y"].tolist()[-10:] == pytest.approx([0.7] * 10)


async def emptied_by(make_tenant, owner_pool, kind: str, sold_days: int, rest: str):
    """Product 0 at warehouse 0: 100 received, 10 sold a day for ``sold_days``, then the ``rest`` taken by ``kind``
    (a transfer to warehouse 1, or expired units written off), never restocked."""
    tenant = await make_tenant()
    p, (w, other) = tenant.products[0], tenant.warehouses
    first = morning_before(28)
    emptied = first + timedelta(days=sold_days, hours=1)
    async with owner_pool.acquire() as conn:
        await receive_then_sell(conn, tenant, first, "100", "10", sold_days)
        if kind == "transfer_out":
            transfer = uuid.uuid4()
            await post(conn, tenant, p, w, "transfer_out", rest, emptied, transfer_id=transfer)
            await post(conn, tenant, p, other, "transfer_in", rest.lstrip("-"), emptied, transfer_id=transfer)
        else:
            await post(conn, tenant, p, w, "adjustment", rest, emptied, reason="expired")
    return tenant


@pytest.mark.parametrize(("kind", "sold_days", "rest"), [("transfer_out", 5, "-50"), ("adjustment", 7, "-30")])
async def test_a_shelf_emptied_by_a_transfer_or_write_off_is_not_a_stock_out(
    database, make_tenant, owner_pool, kind, sold_days, rest
):
    tenant = await emptied_by(make_tenant, owner_pool, kind, sold_days, rest)
    p, w = tenant.products[0], tenant.warehouses[0]
    history = await as_planner(
        database, tenant, lambda c: demand_history(c, freq="D", as_of=AS_OF, product_id=p, warehouse_id=w)
    )
    # The stock left the shelf, no sale was turned away: the empty days after are no demand, not 10 a day held back.
    assert history["y"].iloc[:sold_days].tolist() == [10.0] * sold_days
    assert history["y"].iloc[sold_days:].sum() == 0


async def test_a_stock_out_longer_than_the_window_falls_back_to_observed_zeros(database, make_tenant, owner_pool):
    tenant = await make_tenant()
    p = tenant.products[0]
    async with owner_pool.acquire() as conn:
        await receive_then_sell(conn, tenant, morning_before(100), "140", "10", 14)
    history = await as_planner(database, tenant, lambda c: demand_history(c, freq="D", as_of=AS_OF, product_id=p))
    # Two weeks of sales, sold out by the last (day 13), never restocked: an empty day is imputed from the same
    # weekday while one in stock is within the window (the last, day 12, until 8 weeks on); then the zeros stand.
    last_imputed = 12 + IMPUTE_WINDOW_SEASONS * 7
    assert len(history) == 100
    assert history["y"].iloc[: last_imputed + 1].tolist() == [10.0] * (last_imputed + 1)
    assert history["y"].iloc[last_imputed + 1 :].sum() == 0


@pytest.mark.parametrize("lookback_days", [57, 46], ids=["starting-in-a-stock-out-a-sale-caused", "starting-stocked"])
async def test_a_history_starting_after_earlier_movements_finds_the_stock_outs_a_longer_one_finds(
    database, make_tenant, owner_pool, lookback_days
):
    # The movements before the history's start are read as one opening state (until 2026-12-07 a running balance
    # went over each of them): 100 received 70 days ago and sold out by day 61 (a stock-out a sale caused), 140
    # received on day 52 and sold out by day 39, empty since.
    tenant = await make_tenant()
    p = tenant.products[0]
    async with owner_pool.acquire() as conn:
        await receive_then_sell(conn, tenant, morning_before(70), "100", "10", 10)
        await receive_then_sell(conn, tenant, morning_before(52), "140", "10", 14)

    def read(**options):
        return as_planner(database, tenant, lambda c: demand_history(c, freq="D", as_of=AS_OF, product_id=p, **options))

    longer, starting_later = await read(), await read(lookback_days=lookback_days)
    # Day 57: the shelf emptied by a sale, the empty days before the restock censored (not in stock at 0) and so no
    # yardstick; day 46: 80 on the shelf. Either way, the empty days from day 38 read as the 10 sold before.
    assert len(starting_later) == lookback_days
    assert starting_later["y"].tail(45).tolist() == longer["y"].tail(45).tolist() == [10.0] * 45
