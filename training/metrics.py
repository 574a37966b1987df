"""Forecast accuracy metrics on numpy arrays (M4 definitions where M4 defines them)."""

from __future__ import annotations

import numpy as np


def smape(y: np.ndarray, f: np.ndarray) -> float:
    """Symmetric MAPE in percent: mean of 200*|y-f|/(|y|+|f|), a 0/0 term counting as 0."""
    denom = np.abs(y) + np.abs(f)
    terms = np.divide(200.0 * np.abs(y - f), denom, out=np.zeros(len(y)), where=denom > 0)
    return float(np.mean(terms))


def mase_scale(insample: np.ndarray, season: int) -> float:
    """In-sample mean absolute seasonal difference, the MASE denominator.

    Falls back to lag 1 when the history is shorter than a season plus one, and to the mean
    absolute level (then 1) when the series is constant, so the scale is always positive.
    """
    lag = season if len(insample) > season else 1
    if len(insample) > lag:
        scale = float(np.mean(np.abs(insample[lag:] - insample[:-lag])))
        if scale > 0:
            return scale
    level = float(np.mean(np.abs(insample))) if len(insample) else 0.0
    return level if level > 0 else 1.0


def mase(y: np.ndarray, f: np.ndarray, insample: np.ndarray, season: int) -> float:
    """Mean absolute scaled error against the in-sample seasonal naive forecast."""
    return float(np.mean(np.abs(y - f))) / mase_scale(insample, season)


def rmse(y: np.ndarray, f: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y - f) ** 2)))


def bias(y: np.ndarray, f: np.ndarray) -> float:
    """Mean forecast minus actual: positive when the forecast runs high."""
    return float(np.mean(f - y))


def pinball(y: np.ndarray, f: np.ndarray, q: float) -> float:
    """Quantile (pinball) loss of forecast ``f`` for level ``q``."""
    diff = y - f
    return float(np.mean(np.maximum(q * diff, (q - 1.0) * diff)))
