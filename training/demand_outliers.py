"""Demand outliers clipped before a stock policy is fitted: one bulk or mistyped issue is not a demand level.

Until 2026-12-07 one issue of 100,000 among ~60 a day went into the forecast and the history's spread as it was and
the policy said "order 76,157 now" where it had said 611. A period above ``median + k * spread`` of the periods with
demand is clipped to that ceiling, for the forecast and the spread alike, and the response names what was clipped.
The spread is the MAD scaled to a normal sigma, and at least half the median, so a series flat until a season never
loses its peaks (three times the median and below are always kept); a history of fewer than
``MIN_PERIODS_WITH_DEMAND`` periods with demand is too short to call anything in it unusual and is left alone.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

OUTLIER_K = 5.0
MIN_PERIODS_WITH_DEMAND = 8
MAD_TO_SIGMA = 1.4826  # the MAD of a normal sample is 0.6745 sigma


def clip_demand_outliers(history: pd.DataFrame, k: float = OUTLIER_K) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """``history`` (``ds``, ``y``) with its outlying periods clipped, and what was clipped (None: nothing)."""
    demand = history["y"].astype(float)
    positive = demand[demand > 0]
    if len(positive) < MIN_PERIODS_WITH_DEMAND:
        return history, None
    median = float(positive.median())
    spread = max(MAD_TO_SIGMA * float((positive - median).abs().median()), median / 2)
    ceiling = median + k * spread
    above = demand > ceiling
    if not above.any():
        return history, None
    report = {
        "periods_clipped": int(above.sum()),
        "ceiling": ceiling,
        "largest": float(demand.max()),
        "rule": f"periods above median + {k:g} x spread (MAD as sigma, at least half the median) of the periods "
        "with demand are clipped to that ceiling for the forecast and its spread; clip_outliers=false keeps them",
    }
    return history.assign(y=demand.clip(upper=ceiling)), report
