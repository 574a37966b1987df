"""M4's Naive2 benchmark (the yardstick of OWA), as the M4 organisers computed it."""

from __future__ import annotations

import numpy as np
import pandas as pd


def naive2(train: pd.DataFrame, horizon: int, period: int) -> np.ndarray:
    """M4's Naive2: naive on data seasonally adjusted by classical multiplicative decomposition
    when the M4 autocorrelation test finds seasonality at ``period``."""
    out = []
    for _, group in train.groupby("unique_id", sort=True):
        y = group["y"].to_numpy()
        seasonal = np.ones(period)
        if period > 1 and len(y) >= 3 * period and _seasonality_test(y, period):
            seasonal = _seasonal_indices(y, period)
        index = seasonal[(len(y) + np.arange(horizon)) % period]
        out.append(y[-1] / seasonal[(len(y) - 1) % period] * index)
    return np.concatenate(out)


def _acf(y: np.ndarray, k: int) -> float:
    m = y.mean()
    return float(np.sum((y[k:] - m) * (y[:-k] - m)) / np.sum((y - m) ** 2))


def _seasonality_test(y: np.ndarray, period: int) -> bool:
    # As in the M4 organisers' Python code, including its unsquared first term.
    s = _acf(y, 1) + sum(_acf(y, i) ** 2 for i in range(2, period))
    return abs(_acf(y, period)) > 1.645 * np.sqrt((1 + 2 * s) / len(y))


def _seasonal_indices(y: np.ndarray, period: int) -> np.ndarray:
    """Seasonal factors by position ``t % period`` of a classical multiplicative decomposition."""
    weights = np.r_[0.5, np.ones(period - 1), 0.5] / period if period % 2 == 0 else np.ones(period) / period
    trend = np.full(len(y), np.nan)
    half = len(weights) // 2
    trend[half : len(y) - half] = np.convolve(y, weights, mode="valid")
    factors = np.array([np.nanmean((y / trend)[i::period]) for i in range(period)])
    return factors / factors.mean()
