"""Demand outliers clipped before a stock policy is fitted: one bulk or mistyped issue is not a demand level.

Until 2026-12-07 one issue of 100,000 among ~60 a day went into the forecast and the history's spread as it was and
the policy said "order 76,157 now" where it had said 611. The first fix measured every period against one ceiling
for the whole history and cut real demand: an intermittent spare part's ordinary orders of 4 and 5, a season's peak
weeks, a ramping product's last month. Now only an isolated spike is clipped: a single period (neither neighbour is
one) above ``SPIKE_RATIO`` times the LOCAL median of the periods with demand within ``WINDOW`` periods either side,
and above that median + ``k`` x the local spread (MAD as sigma). It is clipped to the latter, the top of ordinary
demand there, for the forecast and the spread alike, and the response names it. Intermittent series
(``training.models.intermittent.is_intermittent``, the rule that sends a series to Croston) are never clipped: lumpy
sizes are their demand. A history of fewer than ``MIN_PERIODS_WITH_DEMAND`` periods with demand is too short to call
anything in it unusual and is left alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from training.models.intermittent import is_intermittent

OUTLIER_K = 5.0
SPIKE_RATIO = 10.0
WINDOW = 14  # periods either side: a season or a trend moves the local level with it
MIN_PERIODS_WITH_DEMAND = 8
MIN_LOCAL_PERIODS = 3
MAD_TO_SIGMA = 1.4826  # the MAD of a normal sample is 0.6745 sigma


def _local_mad(window: np.ndarray) -> float:
    known = window[~np.isnan(window)]
    return float(np.median(np.abs(known - np.median(known)))) if len(known) else float("nan")


def clip_demand_outliers(history: pd.DataFrame, k: float = OUTLIER_K) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """``history`` (``ds``, ``y``) with its isolated spikes clipped, and what was clipped (None: nothing)."""
    demand = history["y"].astype(float)
    if int((demand > 0).sum()) < MIN_PERIODS_WITH_DEMAND or is_intermittent(demand.to_numpy()):
        return history, None
    positive = demand.where(demand > 0)
    rolling = positive.rolling(2 * WINDOW + 1, center=True, min_periods=MIN_LOCAL_PERIODS)
    local_median = rolling.median()
    local_sigma = MAD_TO_SIGMA * rolling.apply(_local_mad, raw=True)
    ceiling = local_median + k * local_sigma
    # No local level (too few periods with demand near it): NaN compares False, the period is kept.
    above = (demand > SPIKE_RATIO * local_median) & (demand > ceiling)
    isolated = above & ~above.shift(1, fill_value=False) & ~above.shift(-1, fill_value=False)
    if not isolated.any():
        return history, None
    report = {
        "periods_clipped": int(isolated.sum()),
        "ceiling": float(ceiling[isolated].max()),
        "largest": float(demand[isolated].max()),
        "rule": f"single periods above both {SPIKE_RATIO:g} x the median and median + {k:g} x spread (MAD as sigma) "
        f"of the periods with demand within {WINDOW} periods either side are clipped to the latter for the forecast "
        "and its spread; intermittent series are never clipped; clip_outliers=false keeps them",
    }
    return history.assign(y=demand.where(~isolated, ceiling)), report
