"""Market risk from purchase prices: volatility, trend and shocks per product, and flags on new POs.

A price series is one product's unit prices (in the product's unit) by observation date, across its
suppliers. Volatility is the standard deviation of log price changes over the last ``window`` changes;
the trend is the least-squares slope of log price over time, as percent per 90 days; a shock is a last
change more than ``shock_z`` standard deviations of the earlier changes (and at least ``shock_min_pct``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

WINDOW = 12
SHOCK_Z = 3.0
SHOCK_MIN_PCT = 5.0
FLAG_MIN_PCT = 10.0
FLAG_Z = 2.0


# Two prices of one day follow the moment they were set (an order's issue; an imported price, dated only, first),
# then a line's id, supplier and price, so the last price never depends on which row was stored first.
CHRONOLOGICAL = ("observed_on", "observed_at", "purchase_order_line_id", "supplier_id", "unit_price")


def chronological(prices: pd.DataFrame) -> pd.DataFrame:
    """``prices`` oldest first, on those of the ``CHRONOLOGICAL`` columns it has."""
    keys = [column for column in CHRONOLOGICAL if column in prices.columns]
    return prices.sort_values(keys, kind="stable", na_position="first")


def price_statistics(prices: pd.DataFrame, window: int = WINDOW) -> dict[str, Any]:
    """``prices``: columns ``observed_on``, ``unit_price`` for one product (any order), and where known
    ``observed_at``, ``purchase_order_line_id`` and ``supplier_id`` to order same-day prices."""
    series = chronological(prices)
    values = series["unit_price"].astype(float).to_numpy()
    dates = pd.to_datetime(series["observed_on"])
    result: dict[str, Any] = {
        "observations": len(values),
        "last_price": float(values[-1]) if len(values) else None,
        "last_observed_on": dates.iloc[-1].date() if len(values) else None,
        "volatility": None,
        "trend_pct_per_90d": None,
        "shock": False,
        "last_change_pct": None,
        "last_change_z": None,
    }
    if len(values) < 3:
        return result
    changes = np.diff(np.log(values))
    recent = changes[-window:]
    result["volatility"] = round(float(np.std(recent, ddof=1)), 4) if len(recent) > 1 else None
    days = (dates - dates.iloc[0]).dt.days.to_numpy(dtype=float)
    if days[-1] > days[0]:
        slope = np.polyfit(days, np.log(values), 1)[0]
        result["trend_pct_per_90d"] = round(float(np.expm1(slope * 90) * 100), 2)
    last = changes[-1]
    result["last_change_pct"] = round(float(np.expm1(last) * 100), 2)
    earlier = changes[:-1][-window:]
    if len(earlier) >= 2:
        spread = max(float(np.std(earlier, ddof=1)), 0.005)
        z = (last - float(np.mean(earlier))) / spread
        result["last_change_z"] = round(float(z), 2)
        result["shock"] = bool(abs(z) >= SHOCK_Z and abs(np.expm1(last) * 100) >= SHOCK_MIN_PCT)
    return result


def flag_price(history: pd.DataFrame, unit_price: float) -> dict[str, Any] | None:
    """Compare a new price with the product's history before it; a flag when it is unusually high."""
    if len(history) < 3:
        return None
    values = chronological(history)["unit_price"].astype(float).to_numpy()[-WINDOW:]
    reference = float(np.median(values))
    change_pct = (unit_price / reference - 1) * 100
    spread = max(float(np.std(np.log(values), ddof=1)), 0.005)
    z = float(np.log(unit_price / reference) / spread)
    if change_pct >= FLAG_MIN_PCT and z >= FLAG_Z:
        return {
            "reference_price": round(reference, 4),
            "change_pct": round(change_pct, 2),
            "z": round(z, 2),
            "reason": f"{change_pct:.1f}% above the median of the last {len(values)} prices ({z:.1f} sd)",
        }
    return None
