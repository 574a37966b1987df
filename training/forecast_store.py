"""Stored forecasts of a registry run: one row per (product, warehouse, date), replaced as a whole on rerun."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import numpy as np
import pandas as pd

from training.errors import ForecastInputError
from training.validation import quantile_column, quantile_levels


async def write_forecasts(conn: asyncpg.Connection, tenant_id: UUID, run_id: UUID, forecasts: pd.DataFrame) -> int:
    """Replace the run's forecasts for every (product, warehouse) in ``forecasts``; returns rows written.

    ``forecasts`` has ``product_id, warehouse_id, ds, yhat, model`` and any ``q<level>`` columns.
    Delete and insert run in one transaction (a savepoint inside the caller's), so readers see the
    old rows or the new ones, and a rerun leaves exactly one row per series and date.
    """
    required = {"product_id", "warehouse_id", "ds", "yhat", "model"}
    missing = required - set(forecasts.columns)
    if missing:
        raise ForecastInputError(f"forecasts are missing column(s) {sorted(missing)}")
    levels = quantile_levels(list(forecasts.columns))
    products = [UUID(str(p)) for p in forecasts["product_id"]]
    warehouses = [UUID(str(w)) for w in forecasts["warehouse_id"]]
    ds = [_utc(t) for t in pd.to_datetime(forecasts["ds"])]
    yhat = forecasts["yhat"].to_numpy(dtype=float)
    if not np.all(np.isfinite(yhat)):
        raise ForecastInputError("forecasts contain missing or infinite point values")
    quantiles = [
        json.dumps({f"{q:g}": float(v) for q, v in zip(levels, values, strict=True)})
        for values in forecasts[[quantile_column(q) for q in levels]].to_numpy(dtype=float).tolist()
    ]
    series = sorted({(p, w) for p, w in zip(products, warehouses, strict=True)})
    async with conn.transaction():
        await conn.execute(
            """
            DELETE FROM app.demand_forecasts f
            USING unnest($3::uuid[], $4::uuid[]) AS s(product_id, warehouse_id)
            WHERE f.tenant_id = $1 AND f.run_id = $2
              AND f.product_id = s.product_id AND f.warehouse_id = s.warehouse_id
            """,
            tenant_id,
            run_id,
            [p for p, _ in series],
            [w for _, w in series],
        )
        await conn.execute(
            """
            INSERT INTO app.demand_forecasts (tenant_id, run_id, product_id, warehouse_id, ds, yhat, quantiles, model)
            SELECT $1, $2, p, w, ds, yhat, q::jsonb, model
            FROM unnest($3::uuid[], $4::uuid[], $5::timestamptz[], $6::float8[], $7::text[], $8::text[])
                 AS t(p, w, ds, yhat, q, model)
            """,
            tenant_id,
            run_id,
            products,
            warehouses,
            ds,
            yhat.tolist(),
            quantiles,
            [str(m) for m in forecasts["model"]],
        )
    return len(forecasts)


async def stored_forecast(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    run_id: UUID,
    product_id: UUID,
    warehouse_id: UUID,
) -> pd.DataFrame:
    """One series of a run as a forecast frame: ``ds, yhat, model`` and ``q<level>`` columns."""
    rows = await conn.fetch(
        "SELECT ds, yhat, quantiles, model FROM app.demand_forecasts "
        "WHERE tenant_id = $1 AND run_id = $2 AND product_id = $3 AND warehouse_id = $4 ORDER BY ds",
        tenant_id,
        run_id,
        product_id,
        warehouse_id,
    )
    frame = pd.DataFrame(
        {
            "ds": [r["ds"].astimezone(UTC).replace(tzinfo=None) for r in rows],
            "yhat": [float(r["yhat"]) for r in rows],
            "model": [r["model"] for r in rows],
        }
    )
    levels = sorted({float(k) for r in rows for k in r["quantiles"]})
    for q in levels:
        frame[quantile_column(q)] = [float(r["quantiles"].get(f"{q:g}", math.nan)) for r in rows]
    return frame


async def count_forecasts(conn: asyncpg.Connection, tenant_id: UUID, run_id: UUID) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM app.demand_forecasts WHERE tenant_id = $1 AND run_id = $2", tenant_id, run_id
    )
    return count


def _utc(value: pd.Timestamp) -> datetime:
    stamp = value.tz_localize(UTC) if value.tzinfo is None else value.tz_convert(UTC)
    result: datetime = stamp.to_pydatetime()
    return result
