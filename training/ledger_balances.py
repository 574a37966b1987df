"""The stock ledger's state at the end of each period, for the stock-out censoring of ``history.demand_history``."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
import pandas as pd

# Each period's net movement, and the balance at its end as a running sum of those (numeric: as floats, 12.6 kg
# less 18 issues of 0.7 left 2e-15); the movements before the first period are one more group, '-infinity'. Only
# in a period that ends empty and may have held stock (its opening balance plus its inflows above zero) is
# the order of its movements read: walking back from its end, the first movement with stock before it is the last
# that emptied the shelf. Until 2026-12-07 (a4f8f10) every movement since the location's first was sorted for a
# running balance on each read instead (the nightly batch, drift scoring and /accuracy read whole tenants).
_PERIOD_BALANCES = """
    WITH periods AS (
        SELECT m.tenant_id, m.product_id, m.warehouse_id,
               CASE WHEN (m.occurred_at AT TIME ZONE w.zone) < $5 THEN '-infinity'
                    ELSE date_trunc($7, m.occurred_at AT TIME ZONE w.zone) END AS period,
               sum(m.quantity) AS net, sum(greatest(m.quantity, 0)) AS inflow,
               min(m.occurred_at) AS first_at, max(m.occurred_at) AS last_at, min(w.zone) AS zone
        FROM app.stock_movements m
        JOIN (SELECT tenant_id, id, coalesce(timezone, 'UTC') AS zone FROM app.warehouses) w
          ON w.tenant_id = m.tenant_id AND w.id = m.warehouse_id
        WHERE ($1::uuid IS NULL OR m.tenant_id = $1) AND ($2::uuid IS NULL OR m.product_id = $2)
          AND ($3::uuid IS NULL OR m.warehouse_id = $3) AND m.occurred_at < $9
          AND (m.occurred_at AT TIME ZONE w.zone) < $6
          AND (m.product_id, m.warehouse_id) IN (SELECT * FROM unnest($4::uuid[], $8::uuid[]))
        GROUP BY 1, 2, 3, 4
    ), closing AS (
        SELECT *, sum(net) OVER (PARTITION BY tenant_id, product_id, warehouse_id ORDER BY period) AS balance
        FROM periods
    )
    SELECT c.product_id, c.warehouse_id, nullif(c.period, '-infinity') AS period, c.balance <= 0 AS empty,
           emptied.by_issue AS emptied_by_issue
    FROM closing c
    LEFT JOIN LATERAL (
        SELECT back.movement_type = 'issue' AS by_issue
        FROM (SELECT m.movement_type, c.balance - sum(m.quantity) OVER (ORDER BY m.occurred_at DESC, m.seq DESC)
                                      AS before_it
              FROM app.stock_movements m
              WHERE c.balance <= 0 AND c.balance - c.net + c.inflow > 0
                AND m.tenant_id = c.tenant_id AND m.product_id = c.product_id AND m.warehouse_id = c.warehouse_id
                AND m.occurred_at BETWEEN c.first_at AND c.last_at
                AND (CASE WHEN (m.occurred_at AT TIME ZONE c.zone) < $5 THEN '-infinity'
                          ELSE date_trunc($7, m.occurred_at AT TIME ZONE c.zone) END) = c.period
              ORDER BY m.occurred_at DESC, m.seq DESC) back
        WHERE back.before_it > 0 LIMIT 1
    ) emptied ON true
"""


async def period_balances(
    conn: asyncpg.Connection,
    locations: pd.DataFrame,
    local_bounds: tuple[datetime, datetime],
    utc_end: datetime,
    unit: str,
    *,
    tenant_id: UUID | None,
    product_id: UUID | None,
    warehouse_id: UUID | None,
) -> list[asyncpg.Record]:
    """Per ``product_id, warehouse_id`` of ``locations`` and ``period`` (``unit``, on the warehouse's clock, before
    the second of the ``local_bounds``; ``utc_end``: that a day later, for the index) with movements, one row:
    whether the balance after its last movement is at most zero (``empty``) and, when it is, whether the last
    movement in it that took the balance from above zero to at most zero was an issue (``emptied_by_issue``; NULL
    with none, and for a period that does not end empty: a later empty period was emptied in a period of its own).
    ``period`` is NULL for the movements before the first of the ``local_bounds``."""
    return await conn.fetch(
        _PERIOD_BALANCES,
        tenant_id, product_id, warehouse_id, locations["product_id"].tolist(), *local_bounds, unit,
        locations["warehouse_id"].tolist(), utc_end,
    )  # fmt: skip
