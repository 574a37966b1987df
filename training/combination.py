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
from typing import Literal

import numpy as np
import pandas as pd

from training.frequency import season_length
from training.metrics import mase_scale
from training.models.base import POINT_COLUMN, monotone_quantiles
from training.validation import quantile_column

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

    def latest(self, n: int) -> Windows:
        """The windows of each series' ``n`` latest cutoffs (all of them when none has more)."""
        rank = self.keys.groupby("unique_id", sort=False)["cutoff"].rank(method="first", ascending=False)
        keep = (rank <= n).to_numpy()
        if keep.all():
            return self
        forecasts = {m: f[keep] for m, f in self.forecasts.items()}
        return Windows(self.keys[keep].reset_index(drop=True), self.actual[keep], self.scale[keep], forecasts)


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


def candidate_pools(members: Sequence[str], extra: Sequence[str] = ()) -> list[tuple[tuple[str, ...], Rule]]:
    """The few fixed pools a panel chooses from: all ``members``, each leave-one-out subset, both by
    median and by mean, and the mean of the first two members (AutoETS and Theta, the classic pair).

    ``extra`` members (a global model) join as one more pool each: all members plus that one, by
    median. Kept small on purpose: a search over every subset fits the backtest's noise.
    """
    members = tuple(members)
    pools: list[tuple[tuple[str, ...], Rule]] = []
    subsets = [members, *(tuple(m for m in members if m != out) for out in members)] if len(members) > 2 else [members]
    for subset in subsets:
        for rule in RULES if len(subset) > 2 else ("mean",):
            pools.append((subset, rule))
    if len(members) > 2:
        pools.append((members[:2], "mean"))
    pools.extend(((*members, name), "median") for name in extra)
    return list(dict.fromkeys(pools))


def choose_pool(
    windows: Windows,
    pools: Sequence[tuple[tuple[str, ...], Rule]],
    *,
    min_series: int,
    min_gain: float,
) -> tuple[tuple[str, ...], Rule]:
    """The pool whose combination backtests best over the panel; the first of ``pools`` unless another wins.

    The score of a pool is its mean sMAPE plus mean MASE over all windows, each relative to the
    first pool's (the OWA idea, with the default as the yardstick). Another pool replaces the first
    only when the panel has ``min_series`` series and its score is ``min_gain`` lower: with few
    series the choice would be fitted to noise. Pools with a member that did not backtest are skipped.
    """
    usable = [(p, r) for p, r in pools if all(m in windows.forecasts for m in p)]
    if not usable:
        available = tuple(windows.forecasts)
        return available, "median" if len(available) > 2 else "mean"
    default = usable[0]
    if windows.n_series < min_series:
        return default
    reference = _panel_errors(windows, *default)
    best, best_score = default, 2.0 * (1.0 - min_gain)
    for pool, rule in usable[1:]:
        smape, mase = _panel_errors(windows, pool, rule)
        score = smape / reference[0] + mase / reference[1]
        if score < best_score:
            best, best_score = (pool, rule), score
    return best


def strong_winners(
    windows: Windows,
    pool: Sequence[str],
    rule: Rule,
    *,
    metric: str,
    margin: float,
    min_windows: int,
) -> dict[str, tuple[str, float]]:
    """Series whose best single model beat the pool's combination by ``margin`` in every window, and
    strictly (a window where the combination's error is 0 is won by no model).

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
        errors = rows[best].to_numpy()
        # Strictly better too: where the combination's error is 0 (a constant series) no model can beat it.
        if np.all((errors <= (1.0 - margin) * combined) & (errors < combined)):
            winners[str(uid)] = (best, float(means[best]))
    return winners


def inverse_error_share(winner_error: float, pooled_error: float) -> float:
    """A strong winner's share of its series' forecast beside the combination: weights inverse to each
    one's squared backtest error (Bates and Granger, 1969). Beating the combination by 20% gives 0.61,
    by half 0.8; the winner stands alone only where the combination's error is all there is."""
    total = winner_error**2 + pooled_error**2
    return pooled_error**2 / total if np.isfinite(total) and total > 0 else 1.0


def winner_shares(
    winners: Mapping[str, tuple[str, float]], pooled: pd.Series, fixed: float | None
) -> dict[str, tuple[str, float]]:
    """``uid -> (model, share)`` for ``strong_winners``' output: ``fixed`` when given, else the share
    ``inverse_error_share`` gives its backtest error against the combination's (``pooled``, per series)."""
    return {
        uid: (model, fixed if fixed is not None else inverse_error_share(error, float(pooled[uid])))
        for uid, (model, error) in winners.items()
    }


def leaning_errors(
    windows: Windows, pooled: np.ndarray, leaners: Mapping[str, tuple[str, float]], metric: str
) -> dict[str, float]:
    """Each series' mean backtest ``metric`` when the model of ``leaners[uid] = (model, share)`` takes
    ``share`` of the forecast and the pool's combination (``pooled``, one row per window) the rest."""
    uids = windows.keys["unique_id"].astype(str).to_numpy()
    errors: dict[str, float] = {}
    for uid, (model, share) in leaners.items():
        rows = uids == uid
        blend = share * windows.forecasts[model][rows] + (1.0 - share) * pooled[rows]
        errors[uid] = float(np.mean(window_errors(windows.actual[rows], blend, windows.scale[rows])[metric]))
    return errors


def combine_forecasts(forecasts: pd.DataFrame, weights: pd.DataFrame, levels: Sequence[float]) -> pd.DataFrame:
    """Per ``unique_id, ds``, the members' point and quantile columns combined as ``weights`` say:
    rows whose ``rule`` is median give their median times their summed weight, the others their
    weighted sum (a series can have both: a winning model leaning a median combination)."""
    value_columns = [POINT_COLUMN, *(quantile_column(q) for q in levels)]
    keys = ["unique_id", "ds", *(c for c in ("cutoff", "y") if c in forecasts.columns)]
    merged = forecasts.merge(weights, on=["unique_id", "model"], how="inner")
    by_median = merged["rule"] == "median" if "rule" in merged.columns else np.zeros(len(merged), dtype=bool)
    medians = merged[by_median].groupby(keys, sort=True)
    median_part = medians[value_columns].median().mul(medians["weight"].sum(), axis=0).reset_index()
    averaged = merged[~by_median]
    weighted = averaged[value_columns].mul(averaged["weight"], axis=0)
    parts = [median_part, pd.concat([averaged[keys], weighted], axis=1)]
    combined = pd.concat([p for p in parts if not p.empty], ignore_index=True)
    combined = combined.groupby(keys, sort=True, as_index=False)[value_columns].sum()
    return monotone_quantiles(combined, levels)


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
