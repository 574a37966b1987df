"""Automatic forecasting per panel: a robust combination of candidates, a single model only on strong evidence."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Self

import numpy as np
import pandas as pd

from training.combination import (
    Rule,
    Windows,
    candidate_pools,
    choose_pool,
    combine,
    combine_forecasts,
    leaning_errors,
    series_scores,
    strong_winners,
    winner_shares,
)
from training.combination import windows_from_backtest as _windows
from training.errors import ForecastInputError
from training.frequency import default_horizon
from training.models.base import POINT_COLUMN, Forecaster
from training.models.gradient_boosted import GradientBoostedForecaster
from training.models.intermittent import IntermittentForecaster, is_intermittent
from training.models.statistical import StatisticalForecaster
from training.validation import covariate_columns, validate_history

logger = logging.getLogger(__name__)

ModelFactory = Callable[[], Forecaster]
ENSEMBLE = "ensemble"
SHORT_MODEL = "dynamic_theta"
# Below this many observations even Theta has nothing to estimate: naive.
MIN_SHORT_LENGTH = 3
# Benchmarks that compete as single models but never join the default combination.
BASELINES = frozenset({"naive", "seasonal_naive"})

REGULAR_CANDIDATES: Mapping[str, ModelFactory] = {
    "auto_ets": lambda: StatisticalForecaster("auto_ets"),
    "dynamic_theta": lambda: StatisticalForecaster("dynamic_theta"),
    "auto_ces": lambda: StatisticalForecaster("auto_ces"),
    "arima": lambda: StatisticalForecaster("arima"),
    "seasonal_naive": lambda: StatisticalForecaster("seasonal_naive"),
    "xgboost": GradientBoostedForecaster,
}
INTERMITTENT_CANDIDATES: Mapping[str, ModelFactory] = {
    "croston_sba": lambda: IntermittentForecaster("croston_sba"),
    "tsb": lambda: IntermittentForecaster("tsb"),
}
# For series too short for anything else: no parameters to estimate, nothing to overfit.
FALLBACKS: Mapping[str, ModelFactory] = {
    "naive": lambda: StatisticalForecaster("naive"),
    # Simple exponential smoothing with drift: on the M1 validation series of 3-6 points it beat
    # naive (and the combination, whose AutoETS is itself naive below 7 points) on MASE.
    SHORT_MODEL: lambda: StatisticalForecaster(SHORT_MODEL),
    "croston_sba": INTERMITTENT_CANDIDATES["croston_sba"],
}


class AutoForecaster(Forecaster):
    """Per panel, the combination of candidates that backtests best; per series, a single model
    leans the forecast only where it beat that combination by a clear margin in every backtest window.

    Intermittent series (average inter-demand interval above 1.32) are served by the intermittent candidates, the
    others by the regular ones. Each group is backtested over up to ``n_windows`` rolling origins of ``horizon``
    steps, ``step`` apart (default half a horizon); a series joins every window that leaves it
    ``min_combination_length`` observations to fit, and at most ``max_backtest_series`` series (a seeded sample) are
    backtested. The group's pool starts as ``pool`` (by default every candidate that is neither a baseline nor a
    global model) combined by ``rule``, and changes to one of a few fixed alternatives
    (``training.combination.candidate_pools``) only when the panel has ``min_series_for_pool`` series and that pool
    scores ``pool_gain`` better, over ``pool_windows`` rolling origins (default ``n_windows``; more backtests
    further back for the series long enough). A series then keeps the pool's combination unless its best candidate
    beat it by ``margin`` (relative ``metric``) in every one of its ``n_windows`` latest windows; that candidate
    then takes ``winner_share`` of the series' forecast and the combination the rest (1: it stands alone; by default
    ``inverse_error_share``: a few short windows still pick by luck). Global models (``is_global``, the xgboost)
    compete only on series of ``global_min_length`` steps or more, and only when ``global_min_series`` such series
    exist: a model learned across series needs a panel to learn from. Series too short to backtest take the group's
    pool (learned on the series that could be backtested) when they have ``min_combination_length`` observations;
    below that, dynamic Theta from 3 observations, naive under 3 (Croston for intermittent series).

    After ``fit``, ``selection_`` has one row per series (``model``: a candidate or ``ensemble``,
    its backtest ``error``, a ``note`` saying why), ``weights_`` the ``unique_id, model, weight``
    rows ``predict`` combines (with each series' ``rule``), and ``backtest_scores_`` every candidate's backtest metrics.
    """

    name = "auto"
    min_length = 1

    def __init__(
        self,
        regular: Mapping[str, ModelFactory] | None = None,
        intermittent: Mapping[str, ModelFactory] | None = None,
        *,
        horizon: int | None = None,
        n_windows: int = 3,
        step: int | None = None,
        metric: str = "mase",
        rule: Rule = "median",
        pool: Sequence[str] | None = None,
        margin: float = 0.2,
        winner_share: float | None = None,
        min_series_for_pool: int = 30,
        pool_gain: float = 0.01,
        pool_windows: int | None = None,
        global_min_series: int = 20,
        global_min_length: int = 200,
        min_combination_length: int = 7,
        max_backtest_series: int | None = None,
    ) -> None:
        if metric not in {"mase", "smape", "rmse"}:
            raise ForecastInputError(f"selection metric must be 'mase', 'smape' or 'rmse', got {metric!r}")
        if rule not in {"median", "mean"}:
            raise ForecastInputError(f"combination rule must be 'median' or 'mean', got {rule!r}")
        self.regular = dict(regular or REGULAR_CANDIDATES)
        self.intermittent = dict(intermittent or INTERMITTENT_CANDIDATES)
        self.horizon = horizon
        self.n_windows = n_windows
        self.step = step
        self.metric = metric
        self.rule: Rule = rule
        self.pool = tuple(pool) if pool is not None else None
        self.margin = margin
        self.winner_share = winner_share
        self.min_series_for_pool = min_series_for_pool
        self.pool_gain = pool_gain
        self.pool_windows = pool_windows
        self.global_min_series = global_min_series
        self.global_min_length = global_min_length
        self.min_combination_length = min_combination_length
        self.max_backtest_series = max_backtest_series
        self.selection_: pd.DataFrame | None = None
        self.weights_: pd.DataFrame | None = None
        self.backtest_scores_: pd.DataFrame | None = None
        self._models: dict[str, Forecaster] = {}

    def fit(self, df: pd.DataFrame, freq: str) -> Self:
        self.covariates = covariate_columns(df)
        history = validate_history(df, freq, covariates=self.covariates)
        horizon = self.horizon or default_horizon(freq)
        by_series = history.groupby("unique_id", sort=True)["y"]
        lengths = by_series.size()
        sparse = by_series.apply(lambda y: is_intermittent(y.to_numpy()))
        global_names = {name for name, factory in self.regular.items() if factory().is_global}
        long_ids = lengths.index[~sparse & (lengths >= self.global_min_length)]
        with_global = len(long_ids) >= self.global_min_series and bool(global_names)
        if self.covariates and global_names:
            # Known future covariates (promotions, prices) carry what no univariate candidate can use: the
            # global model competes on every regular series, however small the panel; the backtest decides.
            long_ids, with_global = lengths.index[~sparse], True
        groups = [
            (lengths.index[sparse], self.intermittent, "croston_sba"),
            (long_ids if with_global else lengths.index[:0], self.regular, "naive"),
            (
                lengths.index[~sparse].difference(long_ids if with_global else lengths.index[:0]),
                {n: f for n, f in self.regular.items() if n not in global_names},
                "naive",
            ),
        ]
        choices: list[dict[str, object]] = []
        weights: list[dict[str, object]] = []
        scores = []
        for uids, candidates, fallback in groups:
            if len(uids):
                table = self._fit_group(history, freq, horizon, lengths[uids], candidates, fallback, choices, weights)
                if table is not None:
                    scores.append(table)
        self.selection_ = pd.DataFrame(choices).sort_values("unique_id", ignore_index=True)
        self.weights_ = pd.DataFrame(weights).sort_values(["unique_id", "model"], ignore_index=True)
        self.backtest_scores_ = pd.concat(scores, ignore_index=True) if scores else None
        self._fit_members(history, freq)
        return self

    def _forecast(self, horizon: int, levels: list[float], future: pd.DataFrame | None) -> pd.DataFrame:
        weights = self._fitted(self.weights_)
        frames = [model.predict(horizon, levels, future).assign(model=name) for name, model in self._models.items()]
        return combine_forecasts(pd.concat(frames, ignore_index=True), weights, levels)

    def _fit_group(
        self,
        history: pd.DataFrame,
        freq: str,
        horizon: int,
        lengths: pd.Series,
        candidates: Mapping[str, ModelFactory],
        fallback: str,
        choices: list[dict[str, object]],
        weights: list[dict[str, object]],
    ) -> pd.DataFrame | None:
        """Decide the members of every series of one group; returns the candidates' backtest scores."""
        # A series joins a backtest window when the window leaves it enough history to fit.
        min_fit = max(3, self.min_combination_length)
        needed = horizon + min_fit
        global_names = [n for n in candidates if candidates[n]().is_global]
        required = {name: factory().required_length(freq) for name, factory in candidates.items()}
        members = tuple(n for n in candidates if n not in BASELINES and n not in global_names)
        if self.pool is not None:
            members = tuple(n for n in self.pool if n in candidates)
        members = members or tuple(candidates)
        pools = candidate_pools(members, global_names)
        default = (members, self.rule if len(members) > 2 else "mean")
        pools = [default, *(p for p in pools if p != default)]
        testable = lengths.index[lengths >= needed]
        if self.max_backtest_series is not None and len(testable) > self.max_backtest_series:
            # The pool is a panel-level choice: a sample of the panel carries its evidence.
            rng = np.random.default_rng(0)
            testable = pd.Index(np.sort(rng.choice(testable.to_numpy(), self.max_backtest_series, replace=False)))
        (pool, rule), winners, table, pooled, leaning, leaners = default, {}, None, None, {}, {}
        if len(testable):
            subset = history[history["unique_id"].isin(testable)]
            # The older windows only serve the pool choice: none where the panel is too small to choose.
            extra = self.pool_windows if len(testable) >= self.min_series_for_pool else None
            n_windows = max(self.n_windows, extra or 0)
            windows = self._backtest(subset, lengths[testable], freq, horizon, min_fit, candidates, n_windows)
            pool, rule = choose_pool(windows, pools, min_series=self.min_series_for_pool, min_gain=self.pool_gain)
            # Only the pool is chosen on the extra, older windows; each series is judged on its latest ones.
            windows = windows.latest(self.n_windows)
            winners = strong_winners(
                windows, pool, rule, metric=self.metric, margin=self.margin, min_windows=self.n_windows
            )
            table = pd.concat(
                {m: series_scores(windows, f) for m, f in windows.forecasts.items()}, names=["model", "unique_id"]
            ).reset_index()
            # A candidate has a row for the series it forecast in every one of their windows.
            table = table[np.isfinite(table["mase"])].reset_index(drop=True)
            combined = combine([windows.forecasts[m] for m in pool], rule)
            pooled = series_scores(windows, combined)[self.metric]
            leaners = winner_shares(winners, pooled, self.winner_share)
            leaning = leaning_errors(windows, combined, leaners, self.metric)
        names = ", ".join(pool)
        if len(pool) < 3:
            rule = "mean"  # the same thing for one or two members, and the simpler name
        for uid, length in lengths.items():
            # The pool's members that can fit this series (seasonal naive needs a full season).
            usable = [m for m in pool if required[m] <= length] if length >= self.min_combination_length else []
            if str(uid) in winners:
                model, error = winners[str(uid)]
                beat = f"{model} beat the {rule} of {names} by {self.margin:.0%} in every window"
                share = leaners[str(uid)][1] if usable else 1.0
                if share < 1.0:
                    note = f"leaning: {beat}; {share:.0%} {model}, {1 - share:.0%} the {rule} of {', '.join(usable)}"
                    error = leaning[str(uid)]
                    rest = (1.0 - share) / len(usable)
                    weights.extend({"unique_id": uid, "model": m, "weight": rest, "rule": rule} for m in usable)
                    model = ENSEMBLE
                else:
                    note = f"single: {beat}"
                choices.append({"unique_id": uid, "model": model, "error": error, "note": note})
                weights.append({"unique_id": uid, "model": winners[str(uid)][0], "weight": share, "rule": "mean"})
            elif usable:
                error = float(pooled[uid]) if pooled is not None and uid in pooled.index else np.nan
                note = f"{rule} of {', '.join(usable)}"
                if length < needed:
                    note += f" (not backtested: {length} observations, backtest needs {needed})"
                single = len(usable) == 1
                choices.append(
                    {"unique_id": uid, "model": usable[0] if single else ENSEMBLE, "error": error, "note": note}
                )
                share = 1.0 / len(usable)
                weights.extend({"unique_id": uid, "model": m, "weight": share, "rule": rule} for m in usable)
            else:
                model = fallback
                if fallback == "naive" and length >= MIN_SHORT_LENGTH:
                    model = SHORT_MODEL
                needs = f"a combination needs {self.min_combination_length}"
                note = f"fallback: {length} observations, {needs}; {model}"
                choices.append({"unique_id": uid, "model": model, "error": np.nan, "note": note})
                weights.append({"unique_id": uid, "model": model, "weight": 1.0, "rule": "mean"})
        return table

    def _backtest(
        self,
        history: pd.DataFrame,
        lengths: pd.Series,
        freq: str,
        horizon: int,
        min_fit: int,
        candidates: Mapping[str, ModelFactory],
        n_windows: int,
    ) -> Windows:
        """``n_windows`` rolling origins ``step`` apart from each series' end; a series joins every window that
        leaves it ``min_fit`` observations, so long series give more windows than short ones.

        A candidate forecasts, in each window, the series that window leaves long enough for it
        (seasonal naive needs a season); the others get no forecast from it (NaN) there, and keep
        every other candidate. A candidate that raises on a window's panel is out of the backtest.
        """
        step = self.step or max(1, horizon // 2)
        from_end = history.groupby("unique_id", sort=False).cumcount(ascending=False)
        required = {name: factory().required_length(freq) for name, factory in candidates.items()}
        parts: dict[str, list[pd.DataFrame]] = {name: [] for name in candidates}
        too_short: dict[str, set[str]] = {name: set() for name in candidates}
        failed: set[str] = set(candidates)  # until a candidate forecasts some series
        broken: set[str] = set()
        for window in range(n_windows):
            held_out = horizon + window * step
            ids = lengths.index[lengths >= held_out + min_fit]
            if not len(ids):
                break
            inside = history["unique_id"].isin(ids)
            train = history[inside & (from_end >= held_out)]
            test = history[inside & (from_end < held_out) & (from_end >= held_out - horizon)]
            future = test[["unique_id", "ds", *self.covariates]] if self.covariates else None
            cutoffs = train.groupby("unique_id", sort=False)["ds"].max().rename("cutoff")
            actual = test[["unique_id", "ds", "y"]].join(cutoffs, on="unique_id")
            for name, factory in candidates.items():
                if name in broken:
                    continue
                fits = (lengths[ids] - held_out >= required[name]).to_numpy()
                too_short[name].update(str(uid) for uid in ids[~fits])
                merged = actual.assign(**{POINT_COLUMN: np.nan})
                if fits.any():
                    keep = ids[fits]
                    ahead = future[future["unique_id"].isin(keep)] if future is not None else None
                    try:
                        forecast = (
                            factory().fit(train[train["unique_id"].isin(keep)], freq).predict(horizon, None, ahead)
                        )
                    except (ValueError, RuntimeError, np.linalg.LinAlgError) as exc:
                        # A candidate that cannot fit this panel simply does not compete.
                        logger.warning("candidate %s skipped in backtest: %s", name, exc)
                        broken.add(name)
                        continue
                    failed.discard(name)
                    point = forecast[["unique_id", "ds", POINT_COLUMN]]
                    merged = actual.merge(point, on=["unique_id", "ds"], how="left")
                parts[name].append(merged.assign(model=name))
        failed |= broken
        for name, uids in too_short.items():
            if uids and name not in failed:
                logger.info(
                    "candidate %s not backtested on %d series shorter than its %d", name, len(uids), required[name]
                )
        frames = [frame for name, frames in parts.items() if name not in failed for frame in frames]
        if not frames:
            raise ForecastInputError(f"no candidate model could be backtested: {sorted(candidates)}")
        return _windows(pd.concat(frames, ignore_index=True), history, freq)

    def _fit_members(self, history: pd.DataFrame, freq: str) -> None:
        assert self.weights_ is not None
        factories = {**FALLBACKS, **self.intermittent, **self.regular}
        self._models = {}
        for model, rows in self.weights_.groupby("model", sort=True):
            subset = history[history["unique_id"].isin(rows["unique_id"])]
            self._models[str(model)] = factories[str(model)]().fit(subset, freq)
