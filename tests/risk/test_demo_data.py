"""The risk demo's delivery history, seeded as of a given day into a transaction that is rolled back."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import asyncpg
import pytest

from inventory.demo import DEMO_TENANT_ID, seed_demo
from risk.demo import seed_risk_demo


async def demo_deliveries(owner_pool: asyncpg.Pool, today: date) -> list[asyncpg.Record]:
    async with owner_pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            assert await seed_demo(conn, days=30, today=datetime.combine(today, time(), UTC))
            assert await seed_risk_demo(conn, today=today)
            return await conn.fetch(
                "SELECT promised_date, delivered_date, quantity_received, quantity_rejected "
                "FROM app.supplier_deliveries WHERE tenant_id = $1",
                DEMO_TENANT_ID,
            )
        finally:
            await transaction.rollback()


@pytest.mark.parametrize(
    "today", [date(2026, 12, 7), date(2026, 1, 1), date(2026, 3, 12), date(2026, 6, 25), date(2026, 9, 17)]
)
async def test_no_demo_delivery_is_dated_after_the_seed_day(owner_pool, today):
    # Before, the last order of a product could be promised or delivered late past the seed day: seeded on
    # 2026-12-07, deliveries dated 12-08 and 12-09 counted as made in the suppliers' figures.
    deliveries = await demo_deliveries(owner_pool, today)
    ahead = sorted(r["delivered_date"] for r in deliveries if r["delivered_date"] and r["delivered_date"] > today)
    assert deliveries and ahead == []


async def test_a_demo_line_not_arrived_by_the_seed_day_stays_open(owner_pool):
    today = date(2026, 12, 7)
    open_lines = [r for r in await demo_deliveries(owner_pool, today) if r["delivered_date"] is None]
    assert any(r["promised_date"] < today for r in open_lines)  # overdue, as thyssenkrupp's last one is
    assert {(r["quantity_received"], r["quantity_rejected"]) for r in open_lines} == {(None, 0)}
