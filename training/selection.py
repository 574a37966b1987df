"""Automatic model choice per series by rolling-origin backtest, with an inverse-error ensemble."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Self

import numpy as np
import pandas as pd

from training.backtest import cross_validation, score
from training.errors import ForecastInputError
from training.frequency import default_horizon
from training.models.base import POINT_COLUMN, Forecaster, monotone_quantiles
from training.models.gradient_boosted import GradientBoostedForecaster
from training.models.intermittent import IntermittentForecaster, is_intermittent
from training.models.statistical import StatisticalForecaster
from training.validation import covariate_columns, quantile_column, validate_history, validate_quantiles

logger = logging.getLogger(__name__)

ModelFactory = Callable[[], Forecaster]
ENSEMBLE = "ensemble"

REGULAR_CANDIDATES: Mapping[str, ModelFactory] = {
    "seasonal_naive": lambda: StatisticalForecaster("seasonal_naive"),
    "auto_ets": lambda: StatisticalForecaster("auto_ets"),
    "auto_theta": lambda: StatisticalForecaster("auto_theta"),
    "xgboost": GradientBoostedForecaster,
}
INTERMITTENT_CANDIDATES: Mapping[str, ModelFactory] = {
    "croston_sba": lambda: IntermittentForecaster("croston_sba"),
    "tsb": lambda: IntermittentForecaster("tsb"),
}
# Used for series too short to backtest: no parameters to estimate, nothing to overfit.
FALLBACKS: Mapping[str, ModelFactory] = {
    "naive": lambda: StatisticalForecaster("naive"),
    "croston_sba": INTERMITTENT_CANDIDATES["croston_sba"],
}


class AutoForecaster(Forecaster):
    """Per series, the candidate with the lowest backtest error, or a weighted ensemble.

    Intermittent series (average inter-demand interval above 1.32) compete among the
    intermittent candidates, the others among the regular ones. The ensemble averages the
    ``top_k`` candidates of a series (point and quantiles) with weights proportional to
    1 / backtest error and replaces the best single model only when its own backtest error is
    lower. Series too short for ``n_windows`` windows of ``horizon`` steps get a fallback.

    After ``fit``, ``selection_`` has one row per series (``model``, backtest ``error``,
    ``note``) and ``weights_`` the ``unique_id, model, weight`` rows that ``predict`` combines.
    """

    name = "auto"
    min_length = 1

    def __init__(
        self,
        regular: Mapping[str, ModelFactory] | None = None,
        intermittent: Mapping[str, ModelFactory] | None = None,
        *,
        horizon: int | None = None,
        n_windows: int = 2,
        metric: str = "mase",
        top_k: int = 3,
    ) -> None:
        if metric not in {"mase", "smape", "rmse"}:
            raise ForecastInputError(f"selection metric must be 'mase', 'smape' or 'rmse', got {metric!r}")
        self.regular = dict(regular or REGULAR_CANDIDATES)
        self.intermittent = dict(intermittent or INTERMITTENT_CANDIDATES)
        self.horizon = horizon
        self.n_windows = n_windows
        self.metric = metric
        self.top_k = top_k
        self.selection_: pd.DataFrame | None = None
        self.weights_: pd.DataFrame | None = None
        self.backtest_scores_: pd.DataFrame | None = None
        self._models: dict[str, Forecaster] = {}

    def fit(self, df: pd.DataFrame, freq: str) -> Self:
        self.covariates = covariate_columns(df)
        history = validate_history(df, freq, covariates=self.covariates)
        horizon = self.horizon or default_horizon(freq)
        needed = horizon * self.n_windows + 2
        by_series = history.groupby("unique_id", sort=True)["y"]
        lengths = by_series.size()
        sparse = by_series.apply(lambda y: is_intermittent(y.to_numpy()))
        choices, weights, scores = [], [], []
        for group, candidates, fallback in (
            (~sparse, self.regular, "naive"),
            (sparse, self.intermittent, "croston_sba"),
        ):
            uids = group[group].index
            long_enough = uids[lengths[uids] >= needed]
            short = uids[lengths[uids] < needed]
            for uid in short:
                note = f"fallback: {lengths[uid]} observations, backtest needs {needed}"
                choices.append({"unique_id": uid, "model": fallback, "error": np.nan, "note": note})
                weights.append({"unique_id": uid, "model": fallback, "weight": 1.0})
            if len(long_enough):
                subset = history[history["unique_id"].isin(long_enough)]
                chosen, chosen_weights, table = self._select(subset, freq, horizon, candidates)
                choices.extend(chosen)
                weights.extend(chosen_weights)
                scores.append(table)
        self.selection_ = pd.DataFrame(choices).sort_values("unique_id", ignore_index=True)
        self.weights_ = pd.DataFrame(weights).sort_values(["unique_id", "model"], ignore_index=True)
        self.backtest_scores_ = pd.concat(scores) if scores else None
        factories = {**FALLBACKS, **self.intermittent, **self.regular}
        self._models = {}
        for model, rows in self.weights_.groupby("model", sort=True):
            subset = history[history["unique_id"].isin(rows["unique_id"])]
            self._models[str(model)] = factories[str(model)]().fit(subset, freq)
        return self

    def predict(
        self, horizon: int, quantiles: Sequence[float] | None = None, future: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        self._require_fitted(self.weights_)
        assert self.weights_ is not None
        levels = validate_quantiles(quantiles)
        frames = [model.predict(horizon, levels, future).assign(model=name) for name, model in self._models.items()]
        return _combine(pd.concat(frames, ignore_index=True), self.weights_, levels)

    def _select(
        self, history: pd.DataFrame, freq: str, horizon: int, candidates: Mapping[str, ModelFactory]
    ) -> tuple[list[dict[str, object]], list[dict[str, object]], pd.DataFrame]:
        forecasts = []
        for name, factory in candidates.items():
            try:
                cv = cross_validation(factory, history, freq, horizon, self.n_windows)
            except (ValueError, RuntimeError, np.linalg.LinAlgError) as exc:
                # A candidate that cannot fit this panel simply does not compete.
                logger.warning("candidate %s skipped in backtest: %s", name, exc)
                continue
            forecasts.append(cv.assign(model=name))
        if not forecasts:
            raise ForecastInputError(f"no candidate model could be backtested: {sorted(candidates)}")
        cv_all = pd.concat(forecasts, ignore_index=True)
        table = pd.concat(
            {name: score(group, history, freq) for name, group in cv_all.groupby("model", sort=True)},
            names=["model", "unique_id"],
        ).reset_index()
        table = table[np.isfinite(table[self.metric])]
        choices, weights = [], []
        for uid, ranked in table.sort_values(self.metric).groupby("unique_id", sort=True):
            top = ranked.head(self.top_k)
            best_model, best_error = str(top["model"].iloc[0]), float(top[self.metric].iloc[0])
            ensemble = _inverse_error_weights(top["model"].tolist(), top[self.metric].to_numpy())
            ensemble_error = np.inf
            if len(ensemble) > 1:
                blended = _combine(cv_all[cv_all["unique_id"] == uid], ensemble.assign(unique_id=uid), [])
                ensemble_error = float(score(blended, history, freq)[self.metric].iloc[0])
            if ensemble_error < best_error:
                note = "ensemble of " + ", ".join(f"{m} {w:.2f}" for m, w in ensemble.itertuples(index=False))
                choices.append({"unique_id": uid, "model": ENSEMBLE, "error": ensemble_error, "note": note})
                weights.extend(ensemble.assign(unique_id=uid).to_dict("records"))
            else:
                choices.append({"unique_id": uid, "model": best_model, "error": best_error, "note": "best single"})
                weights.append({"unique_id": uid, "model": best_model, "weight": 1.0})
        return choices, weights, table


def _inverse_error_weights(models: list[str], errors: np.ndarray) -> pd.DataFrame:
    """Weights proportional to 1 / error, summing to 1; a zero-error model takes all the weight."""
    raw = (errors <= 0).astype(float) if np.any(errors <= 0) else 1.0 / errors
    return pd.DataFrame({"model": models, "weight": raw / raw.sum()})


def _combine(forecasts: pd.DataFrame, weights: pd.DataFrame, levels: Sequence[float]) -> pd.DataFrame:
    """Weighted sum per ``unique_id, ds`` of the models' point and quantile columns."""
    value_columns = [POINT_COLUMN, *(quantile_column(q) for q in levels)]
    keys = ["unique_id", "ds", *(c for c in ("cutoff", "y") if c in forecasts.columns)]
    merged = forecasts.merge(weights, on=["unique_id", "model"], how="inner")
    weighted = merged[value_columns].mul(merged["weight"], axis=0)
    combined = pd.concat([merged[keys], weighted], axis=1).groupby(keys, sort=True, as_index=False).sum()
    return monotone_quantiles(combined, levels)
