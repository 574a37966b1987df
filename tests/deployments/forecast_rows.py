"""Demand histories for the /ai/forecast and report tests: issues posted as the owner role."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from tests.training.ledger_rows import post_daily_demand


async def post_daily_issues(owner_pool, tenant, product, warehouse, demand) -> None:
    """Stock once, then one issue per day with ``demand[i]`` units, ending yesterday."""
    await post_daily_demand(owner_pool, tenant.id, [(product, warehouse, demand)])


def weekday_demand(days=200, seed=0):
    rng = np.random.default_rng(seed)
    weekday = pd.date_range(end=datetime.now(UTC).date() - timedelta(days=1), periods=days, freq="D").dayofweek
    return np.maximum(np.round(40 + 25 * (weekday < 5) + rng.normal(0, 4, days)), 0)


def first_series(tenant, **extra: object) -> dict:
    """Query or body naming the tenant's first product in its first warehouse (the series the tests post)."""
    return {"product_id": str(tenant.products[0]), "warehouse_id": str(tenant.warehouses[0]), **extra}
