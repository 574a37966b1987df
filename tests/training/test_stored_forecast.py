"""When the champion's stored forecast is served as fresh, and when a request fits instead."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from common.database import TenantTransaction
from tests.copilot.live_rows import add_forecast
from training.stored_forecast import fresh_stored_forecast


async def test_a_stored_forecast_is_not_fresh_once_its_warehouses_zone_changed(database, make_tenant, owner_pool):
    # Its days were the old calendar's (UTC's); before migration 0121 it was served until the next batch run.
    tenant = await make_tenant()
    today = datetime.now(UTC).date()
    async with owner_pool.acquire() as conn:
        await add_forecast(conn, tenant, 0, today, [5.0] * 14)  # trained up to today: fresh

    async def stored(tx: TenantTransaction):
        return await fresh_stored_forecast(
            tx.conn, tx.tenant_id, tenant.products[0], tenant.warehouses[0], "D", 7, [0.1, 0.5, 0.9],
            pd.Timestamp(today),
        )  # fmt: skip

    assert (await database.run(tenant.claims(), None, stored)).source == "stored"
    await owner_pool.execute("UPDATE app.warehouses SET name = 'Renamed' WHERE id = $1", tenant.warehouses[0])
    assert (await database.run(tenant.claims(), None, stored)) is not None  # a new name changes no calendar
    await owner_pool.execute("UPDATE app.warehouses SET timezone = 'Asia/Tokyo' WHERE id = $1", tenant.warehouses[0])
    assert await database.run(tenant.claims(), None, stored) is None


async def test_a_stored_forecasts_reason_counts_the_series_its_mean_backtest_mase_was_taken_over(
    database, make_tenant, owner_pool
):
    # The mean is over backtested series only; before, it read "over its 8 series" when 2 of 8 were backtested.
    tenant = await make_tenant()
    today = datetime.now(UTC).date()
    async with owner_pool.acquire() as conn:
        run = await add_forecast(conn, tenant, 0, today, [5.0] * 14)
        await conn.execute(
            'UPDATE app.forecast_runs SET series_count = 8, metrics = \'{"mase": 0.731, "backtested_series": 2}\' '
            "WHERE id = $1",
            run,
        )

    async def stored(tx: TenantTransaction):
        return await fresh_stored_forecast(
            tx.conn, tx.tenant_id, tenant.products[0], tenant.warehouses[0], "D", 7, [0.1, 0.5, 0.9],
            pd.Timestamp(today),
        )  # fmt: skip

    forecast = await database.run(tenant.claims(), None, stored)
    assert "mean backtest MASE 0.731 over 2 backtested series of 8)" in forecast.reason
