"""Demand history written to the real ledger (stock movements) for jobs that read it back."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import numpy as np


async def add_products(owner_pool: asyncpg.Pool, tenant_id: uuid.UUID, count: int) -> list[uuid.UUID]:
    products = [uuid.uuid4() for _ in range(count)]
    async with owner_pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO app.products (id, tenant_id, sku, name) VALUES ($1, $2, $3, $4)",
            [(p, tenant_id, f"X-{p.hex[:8]}", f"Extra {i}") for i, p in enumerate(products)],
        )
    return products


async def post_daily_demand(
    owner_pool: asyncpg.Pool, tenant_id: uuid.UUID, series: Sequence[tuple[uuid.UUID, uuid.UUID, np.ndarray]]
) -> None:
    """For each (product, warehouse, demand): stock once, then one issue per day of ``demand``, ending yesterday."""
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    rows = []
    for product, warehouse, demand in series:
        start = today - timedelta(days=len(demand))
        rows.append(
            (tenant_id, product, warehouse, "receipt", Decimal(int(sum(demand)) + 10), start - timedelta(hours=1))
        )
        rows += [
            (tenant_id, product, warehouse, "issue", Decimal(-int(q)), start + timedelta(days=i))
            for i, q in enumerate(demand)
            if q > 0
        ]
    async with owner_pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO app.stock_movements (tenant_id, product_id, warehouse_id, movement_type, quantity, "
            "occurred_at) VALUES ($1, $2, $3, $4, $5, $6)",
            rows,
        )
