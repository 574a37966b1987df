"""Clipping demand outliers before a stock policy is fitted."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.demand_outliers import clip_demand_outliers


def frame(values) -> pd.DataFrame:
    return pd.DataFrame({"ds": pd.date_range("2026-01-01", periods=len(values), freq="D"), "y": values})


def test_a_bulk_period_is_clipped_to_the_ceiling_and_reported():
    values = [60.0, 40.0, 65.0, 58.0, 62.0, 41.0, 66.0, 59.0, 61.0, 100_000.0]
    clipped, report = clip_demand_outliers(frame(values))
    assert report is not None and report["periods_clipped"] == 1 and report["largest"] == 100_000
    assert clipped["y"].max() == report["ceiling"] < 400
    assert clipped["y"].iloc[:-1].tolist() == values[:-1]


def test_seasonal_peaks_lumpy_and_short_histories_are_left_alone():
    peaks = [50.0] * 20 + [150.0] * 4  # three times the median: a season, not a typo
    lumpy = [0, 0, 30, 0, 5, 0, 0, 60, 0, 10, 0, 25, 0, 0, 40, 0, 8, 0, 15]
    short = [1.0, 2.0, 500.0]
    for values in (peaks, lumpy, short, [0.0] * 30):
        clipped, report = clip_demand_outliers(frame(np.array(values, dtype=float)))
        assert report is None and clipped["y"].tolist() == list(map(float, values))


def _review_series():
    """The review's three real-demand series (2026-12-07): each lost demand to a global ceiling."""
    rng = np.random.default_rng(1)
    n = 365
    occurs = rng.random(n) < 0.12
    sizes = rng.geometric(0.5, n)
    spare_part = np.where(occurs, sizes, 0).astype(float)
    spare_part[[100, 250, 330]] = [12, 10, 8]  # real overhaul orders
    weekly = np.full(104, 100.0) + rng.normal(0, 5, 104)
    for year in (0, 52):
        weekly[year + 44 : year + 50] = 800.0
    t = np.arange(365)
    ramp = 5 * np.exp(t * np.log(100) / 364) * rng.uniform(0.9, 1.1, 365)
    return {"spare part": (spare_part, "D"), "seasonal weekly": (weekly, "W"), "ramp": (ramp, "D")}


def test_intermittent_seasonal_and_ramping_demand_lose_nothing():
    for name, (values, freq) in _review_series().items():
        history = pd.DataFrame({"ds": pd.date_range("2025-01-01", periods=len(values), freq=freq), "y": values})
        clipped, report = clip_demand_outliers(history)
        assert report is None, name
        assert clipped["y"].sum() == values.sum(), name


def test_one_bulk_issue_among_steady_daily_demand_is_still_clipped():
    rng = np.random.default_rng(7)
    values = rng.normal(60, 10, 120).clip(min=1)
    values[80] = 100_000.0
    clipped, report = clip_demand_outliers(frame(values))
    assert report is not None and report["periods_clipped"] == 1 and report["largest"] == 100_000
    assert clipped["y"].iloc[80] < 200
    assert np.array_equal(np.delete(clipped["y"].to_numpy(), 80), np.delete(values, 80))
