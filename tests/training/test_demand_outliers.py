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
