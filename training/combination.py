"""Forecast combination: which candidates a panel combines, and when one model may stand alone.

Backtest forecasts are held as arrays, one row per (series, cutoff) window and one column per
step, so that every candidate pool and rule can be scored over the whole panel at once. The
rules follow the forecast-combination literature since M3/M4: an equal-weight combination of
diverse statistical models (here the median, as in Petropoulos & Svetunkov's SCUM) is hard to
beat, and per-series selection on a few short windows mostly picks by luck. So the panel chooses
its pool (learned across all its series, which is where the evidence is), and a series leaves the
combination only when one model beat it by a clear margin in every backtest window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

import numpy as np
import pandas as pd

from training.frequency import season_length
from training.metrics import mase_scale
from training.models.base import POINT_COLUMN

Rule = Literal["median", "mean"]
RULES: tuple[Rule, ...] = ("median", "mean")
WINDOW_METRICS = ("mase", "smape", "rmse", "bias")


@dataclass(frozen=True)
class Windows:
    """Backtest windows: ``keys`` (``unique_id, cutoff``) per row, actuals and each model's forecasts."""

    keys: pd.DataFrame
    actual: np.ndarray  # (windows, horizon)
    scale: np.ndarray  # (windows,) the MASE denominator of each window's training data
    forecasts: Mapping[str, np.ndarray]  # model -> (windows, horizon); NaN where a model failed

    @property
    def n_series(self) -> int:
        return int(self.keys["unique_id"].nunique())


def windows_from_backtest(backtest: pd.DataFrame, history: pd.DataFrame, freq: str) -> Windows:
    """Arrange ``cross_validation`` output of several models (column ``model``) as ``Windows``."""
    season = season_length(freq)
    ordered = backtest.sort_values(["model", "unique_id", "cutoff", "ds"])
    models = sorted(ordered["model"].unique())
    first = ordered[ordered["model"] == models[0]]
    keys = first[["unique_id", "cutoff"]].drop_duplicates(ignore_index=True)
    horizon = len(first) // len(keys)
    actual = first["y"].to_numpy(dtype=float).reshape(len(keys), horizon)
    # Every model forecasts every window (a failed series is NaN), so the sorted rows line up.
    shape = (len(keys), horizon)
    forecasts = {
        str(m): ordered.loc[ordered["model"] == m, POINT_COLUMN].to_numpy(dtype=float).reshape(shape) for m in models
    }
    values = {uid: g.set_index("ds")["y"] for uid, g in history.groupby("unique_id", sort=False)}
    scale = np.array(
        [mase_scale(values[uid].loc[:cutoff].to_numpy(dtype=float), season) for uid, cutoff in keys.itertuples(False)]
    )
    return Windows(keys, actual, scale, forecasts)


def combine(members: Sequence[np.ndarray], rule: Rule) -> np.ndarray:
    """Per-step median or mean of the members' forecasts, ignoring members that failed (NaN)."""
    stacked = np.stack(members)
    with np.errstate(all="ignore"):
        return np.nanmedian(stacked, axis=0) if rule == "median" else np.nanmean(stacked, axis=0)


def window_errors(actual: np.ndarray, forecast: np.ndarray, scale: np.ndarray) -> dict[str, np.ndarray]:
    """Each window's MASE, sMAPE, RMSE and bias; infinite where the forecast is missing."""
    diff = forecast - actual
    denom = np.abs(actual) + np.abs(forecast)
    with np.errstate(all="ignore"):
        terms = np.where(denom > 0, 200.0 * np.abs(diff) / denom, 0.0)
        errors = {
            "mase": np.mean(np.abs(diff), axis=1) / scale,
            "smape": np.mean(terms, axis=1),
            "rmse": np.sqrt(np.mean(diff**2, axis=1)),
            "bias": np.mean(diff, axis=1),
        }
    missing = ~np.all(np.isfinite(forecast), axis=1)
    return {name: np.where(missing, np.inf, values) for name, values in errors.items()}


def choose_pool(
    windows: Windows,
    candidates: Sequence[str],
    default: Sequence[str],
    rule: Rule,
    *,
    min_series: int,
    min_gain: float,
) -> tuple[tuple[str, ...], Rule]:
    """The candidate subset and rule whose combination backtests best over the panel, else ``default``.

    The score of a pool is its mean sMAPE plus mean MASE over all windows, each relative to the
    default pool's (the OWA idea, with the default as the yardstick). A pool replaces the default
    only when the panel has ``min_series`` series and the pool's score is ``min_gain`` lower: with
    few series the choice among 2^k pools would be fitted to noise.
    """
    default = tuple(m for m in default if m in windows.forecasts) or tuple(candidates)
    if windows.n_series < min_series:
        return default, rule
    reference = _panel_errors(windows, default, rule)
    best, best_rule, best_score = default, rule, 2.0 * (1.0 - min_gain)
    for size in range(1, len(candidates) + 1):
        for pool in combinations(candidates, size):
            # Median and mean coincide for one or two members.
            for pool_rule in RULES if size > 2 else (rule,):
                smape, mase = _panel_errors(windows, pool, pool_rule)
                pool_score = smape / reference[0] + mase / reference[1]
                if pool_score < best_score:
                    best, best_rule, best_score = pool, pool_rule, pool_score
    return best, best_rule


def strong_winners(
    windows: Windows,
    pool: Sequence[str],
    rule: Rule,
    *,
    metric: str,
    margin: float,
    min_windows: int,
) -> dict[str, tuple[str, float]]:
    """Series whose best single model beat the pool's combination by ``margin`` in every window.

    Returns ``unique_id -> (model, mean backtest error)``. The best model of a series is the one
    with the lowest mean ``metric`` over its windows; a series with fewer than ``min_windows``
    windows stays with the combination whatever its errors.
    """
    pooled = window_errors(windows.actual, combine([windows.forecasts[m] for m in pool], rule), windows.scale)[metric]
    single = pd.DataFrame(
        {m: window_errors(windows.actual, f, windows.scale)[metric] for m, f in windows.forecasts.items()}
    )
    single.index = pd.Index(windows.keys["unique_id"], name="unique_id")
    winners: dict[str, tuple[str, float]] = {}
    for uid, rows in single.groupby(level="unique_id", sort=True):
        if len(rows) < min_windows:
            continue
        means = rows.mean()
        if not np.isfinite(means.min()):
            continue
        best = str(means.idxmin())
        combined = pooled[np.flatnonzero(windows.keys["unique_id"].to_numpy() == uid)]
        if np.all(rows[best].to_numpy() <= (1.0 - margin) * combined):
            winners[str(uid)] = (best, float(means[best]))
    return winners


def series_scores(windows: Windows, forecast: np.ndarray) -> pd.DataFrame:
    """Mean of each window metric per series (index ``unique_id``)."""
    errors = pd.DataFrame(window_errors(windows.actual, forecast, windows.scale))
    errors["unique_id"] = windows.keys["unique_id"].to_numpy()
    return errors.groupby("unique_id", sort=True)[list(WINDOW_METRICS)].mean()


def _panel_errors(windows: Windows, pool: Sequence[str], rule: Rule) -> tuple[float, float]:
    errors = window_errors(windows.actual, combine([windows.forecasts[m] for m in pool], rule), windows.scale)
    finite = np.isfinite(errors["mase"]) & np.isfinite(errors["smape"])
    if not finite.any():
        return np.inf, np.inf
    # A pool that fails on some window is charged the worst error any window of the panel shows.
    smape = np.where(finite, errors["smape"], np.max(errors["smape"][finite]))
    mase = np.where(finite, errors["mase"], np.max(errors["mase"][finite]))
    return float(np.mean(smape)), float(np.mean(mase))
