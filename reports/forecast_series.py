"""Which product x warehouse series a forecast report covers, and their recent demand."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg
import pandas as pd

from common.errors import InvalidInputError, NotFoundError
from training import history as ledger

# Each series costs two model fits (forecast and stock targets, about 2 s each on a small CPU): a report is
# for a shortlist; the batch forecast job covers whole catalogues.
MAX_SERIES = 12
# Demand shown before the forecast in each chart, in periods: three months daily, a year weekly.
HISTORY_PERIODS = {"D": 91, "W": 52}


@dataclass(frozen=True)
class SeriesRef:
    product_id: UUID
    sku: str
    product_name: str
    unit: str
    warehouse_id: UUID
    warehouse_code: str

    @property
    def title(self) -> str:
        return f"{self.sku} · {self.product_name} · {self.warehouse_code}"


async def select_series(
    conn: asyncpg.Connection,
    product_ids: Sequence[UUID] = (),
    warehouse_ids: Sequence[UUID] = (),
    category: str | None = None,
    limit: int = MAX_SERIES,
) -> list[SeriesRef]:
    """Stocked locations of active products and warehouses matching the filter (ordered by SKU, warehouse); a
    product or warehouse named by id is included even when deactivated, and a named product at a named warehouse
    even before it was ever stocked there. 404 for an unknown id, 400 beyond ``limit``."""
    await _require_all(conn, "products", product_ids, "unknown_product")
    await _require_all(conn, "warehouses", warehouse_ids, "unknown_warehouse")
    rows = await conn.fetch(
        """
        SELECT p.id AS product_id, p.sku, p.name, p.unit_of_measure, w.id AS warehouse_id, w.code
        FROM app.products p
        CROSS JOIN app.warehouses w
        LEFT JOIN app.stock_levels s ON s.tenant_id = p.tenant_id AND s.product_id = p.id AND s.warehouse_id = w.id
        WHERE w.tenant_id = p.tenant_id
          AND (cardinality($1::uuid[]) = 0 OR p.id = ANY($1::uuid[]))
          AND (cardinality($2::uuid[]) = 0 OR w.id = ANY($2::uuid[]))
          AND ($3::text IS NULL OR p.category = $3::text)
          -- Deactivated products and warehouses are left out, as from the batch forecast, unless named by id.
          AND (p.active OR p.id = ANY($1::uuid[]))
          AND (w.active OR w.id = ANY($2::uuid[]))
          AND (s.product_id IS NOT NULL OR (cardinality($1::uuid[]) > 0 AND cardinality($2::uuid[]) > 0))
        ORDER BY p.sku, w.code
        LIMIT $4
        """,
        list(product_ids),
        list(warehouse_ids),
        category,
        limit + 1,
    )
    if len(rows) > limit:
        raise InvalidInputError(
            f"this filter matches more than {limit} product x warehouse series; a forecast report covers at most "
            f"{limit}: narrow it with product_id, warehouse_id or category",
            code="report_too_large",
            details={"max_series": limit},
        )
    if not rows:
        raise NotFoundError(
            "no stocked product x warehouse matches this filter (deactivated ones only when named by id): "
            "nothing to forecast",
            code="no_matching_series",
        )
    return [
        SeriesRef(r["product_id"], r["sku"], r["name"], r["unit_of_measure"], r["warehouse_id"], r["code"])
        for r in rows
    ]


async def recent_demand(conn: asyncpg.Connection, series: SeriesRef, freq: str, now: datetime) -> pd.DataFrame:
    """The demand the forecast route fits on (``ds, y``), cut to the chart's window."""
    frame = await ledger.demand_history(
        conn, freq=freq, as_of=now, product_id=series.product_id, warehouse_id=series.warehouse_id, active_only=False
    )
    return frame[["ds", "y"]].tail(HISTORY_PERIODS[freq]).reset_index(drop=True)


async def _require_all(conn: asyncpg.Connection, table: str, ids: Sequence[UUID], code: str) -> None:
    if not ids:
        return
    # table comes from the two call sites above, never from the request
    found = {r["id"] for r in await conn.fetch(f"SELECT id FROM app.{table} WHERE id = ANY($1::uuid[])", list(ids))}
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise NotFoundError(f"no {table[:-1]} {', '.join(missing)}", code=code)
