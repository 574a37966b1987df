"""Demand history from the database, as frames the models take (a supplier's orders: ``training.supplier_history``).

Plain async functions over an asyncpg connection. Under a request's transaction row-level security
limits them to the caller's tenant; a batch job connecting as the owner passes ``tenant_id``.

Demand is what left stock to customers: ``issue`` movements of the ledger (transfers and adjustments
are not demand). Each series is one product at one warehouse (``unique_id = product/warehouse``),
summed per day or per week (weeks end on Sunday, pandas' ``W``) of the warehouse's own calendar (its
``timezone``: an issue at 19:00 in Los Angeles is that day's demand, not the next UTC day's), zero-filled from
the first movement of any kind at that location (a product stocked but never issued has demand zero, not no
history) up to the last period *complete* in every active warehouse of the tenant before ``as_of``
(``current_period``): a partial current period would read as a drop, and one grid serves the whole panel.

Sales are not demand when sales emptied the shelf: a period that ends with no stock at the location (the
ledger's running balance), last emptied by an issue, is censored, its sales a lower bound; one emptied by a
transfer or an adjustment (write-off, count set to 0) holds no demand back. By default censored periods are
imputed: the larger of the observed sales and the mean of the same seasonal position (weekday for daily data,
any week for weekly data) over the last recent in-stock periods, so forecasts do not learn stock-outs as slack.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
import numpy as np
import pandas as pd

from training.errors import ForecastInputError
from training.ledger_balances import period_balances

# Ledger frequencies: pandas alias -> (SQL date_trunc unit, days added to label the period like pandas).
LEDGER_FREQUENCIES = {"D": ("day", 0), "W": ("week", 6)}
SERIES_COLUMNS = ["unique_id", "product_id", "warehouse_id", "ds", "y"]
Stockouts = Literal["impute", "keep"]
# Imputation looks back over this many in-stock periods of the same seasonal position, within this many seasons
# (8 weeks): older sales are not the recent level it stands for, and a shelf empty longer is likelier delisted.
IMPUTE_LOOKBACK = 4
IMPUTE_WINDOW_SEASONS = 8
SEASON_STEPS = {"D": 7, "W": 1}
_ZONE_MARGIN = pd.Timedelta(days=1)


def series_id(product_id: UUID | str, warehouse_id: UUID | str) -> str:
    return f"{product_id}/{warehouse_id}"


def period_start(as_of: datetime, freq: str, zone: str = "UTC") -> pd.Timestamp:
    """Start of the period (day, or week from Monday) that contains ``as_of`` on ``zone``'s calendar, naive."""
    # The zone goes before normalising: rebuilding midnight zone-aware fails on a day whose DST change is at
    # midnight (none in Cairo on 2026-04-24, two in Havana on 2026-11-01), and only the local date matters here.
    day = pd.Timestamp(as_of).tz_convert(ZoneInfo(zone)).tz_localize(None).normalize()
    return day - pd.Timedelta(days=day.dayofweek) if freq == "W" else day


async def current_period(
    conn: asyncpg.Connection, as_of: datetime, freq: str, *, tenant_id: UUID | None = None
) -> pd.Timestamp:
    """The first period not yet complete in every time zone of the tenant's active warehouses: where demand
    histories end and forecasts start. Zones east of UTC finish a day first, so the earliest start decides (UTC
    without active warehouses; a closed warehouse has no day to finish)."""
    zones = await conn.fetch(
        "SELECT DISTINCT coalesce(timezone, 'UTC') AS timezone FROM app.warehouses"
        " WHERE active AND ($1::uuid IS NULL OR tenant_id = $1)",
        tenant_id,
    )
    return min((period_start(as_of, freq, row["timezone"]) for row in zones), default=period_start(as_of, freq))


async def demand_history(
    conn: asyncpg.Connection,
    *,
    freq: str = "D",
    as_of: datetime | None = None,
    lookback_days: int = 3 * 365,
    product_id: UUID | None = None,
    warehouse_id: UUID | None = None,
    tenant_id: UUID | None = None,
    active_only: bool = True,
    stockouts: Stockouts = "impute",
    period: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Issues per product x warehouse per period, zero-filled: ``unique_id, product_id, warehouse_id, ds, y``.

    ``ds`` is naive UTC: the day, or the Sunday that ends the week. Only active products and
    warehouses unless ``active_only`` is False. Empty (with the columns) when nothing matches.
    ``stockouts="impute"`` replaces censored periods (sold out at their end) as the module
    describes; ``"keep"`` returns the observed issues. ``period``: ``current_period`` at ``as_of`` when the
    caller has it already (a request reads the zones once for its history, its labels and its freshness).
    """
    if freq not in LEDGER_FREQUENCIES:
        raise ForecastInputError(f"ledger demand is aggregated per 'D' or 'W', got {freq!r}")
    unit, label_days = LEDGER_FREQUENCIES[freq]
    end = (
        period
        if period is not None
        else await current_period(conn, as_of or datetime.now(UTC), freq, tenant_id=tenant_id)
    )
    start = period_start((end - pd.Timedelta(days=lookback_days)).tz_localize(UTC).to_pydatetime(), freq)
    # Periods are compared on each warehouse's local clock ($5, $6: naive); the UTC bounds a day wider ($8, $9)
    # let the ledger's occurred_at index narrow the scan first (no zone is more than 14 hours off UTC).
    local_bounds = (start.to_pydatetime(), end.to_pydatetime())
    utc_bounds = (
        (start - _ZONE_MARGIN).tz_localize(UTC).to_pydatetime(),
        (end + _ZONE_MARGIN).tz_localize(UTC).to_pydatetime(),
    )
    rows = await conn.fetch(
        """
        WITH scope AS (
            SELECT m.product_id, m.warehouse_id, coalesce(w.timezone, 'UTC') AS timezone, min(m.occurred_at) AS first_at
            FROM app.stock_movements m
            JOIN app.products p ON p.tenant_id = m.tenant_id AND p.id = m.product_id
            JOIN app.warehouses w ON w.tenant_id = m.tenant_id AND w.id = m.warehouse_id
            WHERE ($1::uuid IS NULL OR m.tenant_id = $1)
              AND ($2::uuid IS NULL OR m.product_id = $2)
              AND ($3::uuid IS NULL OR m.warehouse_id = $3)
              AND (NOT $4::boolean OR (p.active AND w.active))
              AND m.occurred_at < $9 AND (m.occurred_at AT TIME ZONE coalesce(w.timezone, 'UTC')) < $6
            GROUP BY m.product_id, m.warehouse_id, coalesce(w.timezone, 'UTC')
        )
        SELECT s.product_id, s.warehouse_id,
               date_trunc($7, s.first_at AT TIME ZONE s.timezone) AS first_period,
               date_trunc($7, m.occurred_at AT TIME ZONE s.timezone) AS period,
               coalesce(sum(-m.quantity), 0)::double precision AS y
        FROM scope s
        LEFT JOIN app.stock_movements m
               ON ($1::uuid IS NULL OR m.tenant_id = $1)
              AND m.product_id = s.product_id AND m.warehouse_id = s.warehouse_id
              AND m.movement_type = 'issue' AND m.occurred_at >= $8 AND m.occurred_at < $9
              AND (m.occurred_at AT TIME ZONE s.timezone) >= $5 AND (m.occurred_at AT TIME ZONE s.timezone) < $6
        GROUP BY s.product_id, s.warehouse_id, first_period, period
        ORDER BY s.product_id, s.warehouse_id, period
        """,
        tenant_id,
        product_id,
        warehouse_id,
        active_only,
        *local_bounds,
        unit,
        *utc_bounds,
    )
    history = _zero_filled(rows, freq, start, end, label_days)
    if stockouts == "keep" or history.empty:
        return history
    locations = history.drop_duplicates("unique_id")
    balances = await period_balances(
        conn, locations, local_bounds, utc_bounds[1], unit, tenant_id=tenant_id, product_id=product_id,
        warehouse_id=warehouse_id,
    )  # fmt: skip
    return impute_stockouts(history, balances, freq, label_days)


def impute_stockouts(history: pd.DataFrame, balances: list[asyncpg.Record], freq: str, label_days: int) -> pd.DataFrame:
    """``history`` with censored periods imputed from the ledger's state at the end of each period.

    ``balances`` holds, per ``product_id, warehouse_id, period`` with movements (``period`` NULL before the history
    starts), whether the balance after its last movement is at most zero (``empty``) and, for an empty one, whether
    the last movement in it that took the balance from above zero to at most zero was an issue (``emptied_by_issue``,
    else NULL): ``ledger_balances.period_balances``.
    """
    if not balances:
        return history
    ledger = pd.DataFrame([dict(r) for r in balances]).sort_values("period", na_position="first", kind="stable")
    ledger["key"] = [series_id(p, w) for p, w in zip(ledger["product_id"], ledger["warehouse_id"], strict=True)]
    out = []
    # One pass over the balances, not one scan of them per series.
    ledger_by_series = dict(tuple(ledger.groupby("key", sort=False)))
    none = ledger.iloc[0:0]
    for uid, series in history.groupby("unique_id", sort=False):
        censored = _censored(ledger_by_series.get(uid, none), series["ds"], label_days)
        out.append(series.assign(y=_imputed(series["y"].to_numpy(dtype=float), censored, SEASON_STEPS[freq])))
    return pd.concat(out, ignore_index=True)


def _censored(ledger: pd.DataFrame, ds: pd.Series, label_days: int) -> np.ndarray:
    """Whether each period of ``ds`` ends stocked out; one without movements keeps the state before it."""
    # Rows in period order, the opening state (period NULL, before every period of ``ds``) first.
    labels = (pd.to_datetime(ledger["period"]) + pd.Timedelta(days=label_days)).fillna(pd.Timestamp.min).to_numpy()
    # Empty and stocked out when the movement that started the run, the last to empty the shelf, was an issue.
    by_issue = ledger["emptied_by_issue"].map({True: 1.0, False: 0.0}).astype(float).ffill().to_numpy() == 1.0
    # Before the location's first movement (no row at or before the period) nothing was on the shelf to sell out.
    stocked_out = np.concatenate([[False], ledger["empty"].to_numpy(dtype=bool) & by_issue])
    return stocked_out[np.searchsorted(labels, ds.to_numpy(), side="right")]


def _imputed(y: np.ndarray, censored: np.ndarray, season: int) -> np.ndarray:
    """Censored values raised to the mean of the last in-stock values at the same seasonal position, if recent."""
    result = y.copy()
    for t in np.flatnonzero(censored):
        window = range(t - season, max(t - IMPUTE_WINDOW_SEASONS * season, 0) - 1, -season)
        earlier = [s for s in window if not censored[s]][:IMPUTE_LOOKBACK]
        if earlier:
            result[t] = max(y[t], float(np.mean(y[earlier])))
    return result


def _zero_filled(
    rows: list[asyncpg.Record], freq: str, start: pd.Timestamp, end: pd.Timestamp, label_days: int
) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SERIES_COLUMNS}).astype({"y": float})
    raw = pd.DataFrame([dict(r) for r in rows])
    step = pd.Timedelta(days=7 if freq == "W" else 1)
    frames = []
    for (product, warehouse), group in raw.groupby(["product_id", "warehouse_id"], sort=True):
        first = max(pd.Timestamp(group["first_period"].iloc[0]), start)
        grid = pd.date_range(first, end - step, freq=step)
        if len(grid) == 0:
            continue
        observed = group.dropna(subset=["period"]).set_index("period")["y"]
        observed.index = pd.DatetimeIndex(observed.index)
        values = observed.reindex(grid, fill_value=0.0).to_numpy(dtype=float)
        frames.append(
            pd.DataFrame(
                {
                    "unique_id": series_id(product, warehouse),
                    # Plain uuid.UUID (not asyncpg's own type): frames travel to Ray tasks and deployments.
                    "product_id": UUID(str(product)),
                    "warehouse_id": UUID(str(warehouse)),
                    "ds": grid + pd.Timedelta(days=label_days),
                    "y": np.maximum(values, 0.0),
                }
            )
        )
    if not frames:
        return _zero_filled([], freq, start, end, label_days)
    return pd.concat(frames, ignore_index=True)
