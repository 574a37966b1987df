"""A global xgboost model over lag, rolling and calendar features, forecasting recursively."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import pandas as pd
import xgboost as xgb

from training.features import SCALINGS, FeatureSpec, calendar_features, design_matrix, window_features
from training.models.base import POINT_COLUMN, Forecaster, monotone_quantiles
from training.validation import (
    covariate_columns,
    quantile_column,
    validate_future,
    validate_history,
)


class GradientBoostedForecaster(Forecaster):
    """xgboost models shared by all series; multi-step forecasts feed predictions back as lags.

    One member is trained per row scaling in ``scalings`` (see ``training.features``) and the
    forecast is the per-step median of the members, each run on its own recursive path: the
    level-scaled member is accurate in relative terms, the seasonal-difference one on smooth,
    low-noise series, and the median keeps the better of them where they disagree. Each point
    member minimises squared error on normalised targets.

    Quantiles come from a direct model of the k-step-ahead distribution per member: a booster
    with xgboost's ``reg:quantileerror`` objective trained (on first request for the levels and
    horizon) on rows whose target lies k = 1..horizon steps past the context, k being a feature.
    Its spread around its own median at each step is added to the point path, so intervals widen
    with the horizon as far as the history shows errors grow. Series with no negative history are
    never forecast below zero. ``calendar=False`` leaves out calendar features, for data whose
    timestamps carry no meaning (e.g. M4's). Every column of the history beyond ``unique_id, ds,
    y`` is a covariate whose value at the target time is a feature; ``predict`` then needs their
    future values.
    """

    name = "xgboost"
    min_length = 2
    is_global = True

    def __init__(
        self,
        *,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        max_depth: int = 6,
        max_rows_per_series: int | None = None,
        spec: FeatureSpec | None = None,
        scalings: Sequence[str] = SCALINGS,
        calendar: bool = True,
        n_jobs: int = 1,
        seed: int = 0,
        device: str = "cpu",
    ) -> None:
        unknown = set(scalings) - set(SCALINGS)
        if not scalings or unknown:
            raise ValueError(f"scalings must be a non-empty subset of {SCALINGS}, got {tuple(scalings)}")
        self.n_estimators = n_estimators
        self.params: dict[str, Any] = {
            "eta": learning_rate,
            "max_depth": max_depth,
            "subsample": 0.8,
            "colsample_bytree": 0.8,
            "nthread": n_jobs,
            "seed": seed,
            # "cuda" needs xgboost's CUDA build (the GPU image); xgboost-cpu accepts only "cpu".
            "device": device,
        }
        self.max_rows_per_series = max_rows_per_series
        self.calendar = calendar
        self.spec = spec
        # A given spec fixes the scaling (e.g. one trained by Ray Train); otherwise bag all of them.
        self.scalings = (spec.scaling,) if spec is not None else tuple(scalings)
        self._history: pd.DataFrame | None = None
        self._members: list[_Member] = []
        self._freq = ""

    def fit(self, df: pd.DataFrame, freq: str) -> Self:
        self.covariates = covariate_columns(df)
        history = validate_history(df, freq, min_length=self.min_length, covariates=self.covariates)
        base = self.spec or FeatureSpec.for_frequency(freq, calendar=self.calendar)
        self._members = []
        for scaling in self.scalings:
            member = _Member(base.with_scaling(scaling), history, self.max_rows_per_series, self.covariates)
            member.point = member.boost(self.params, {"objective": "reg:squarederror"}, self.n_estimators)
            self._members.append(member)
        self._history, self._freq = history, freq
        return self

    def attach(self, booster: xgb.Booster, df: pd.DataFrame, freq: str) -> Self:
        """Use a point booster trained elsewhere (e.g. by Ray Train's XGBoostTrainer) on this history.

        The booster must come from ``design_matrix`` with this model's ``spec`` (one scaling);
        quantile boosters are still trained here on first request, on this history alone: in-sample, so their
        intervals are too narrow to serve (``training.serving`` asks for points only).
        """
        self.covariates = covariate_columns(df)
        history = validate_history(df, freq, min_length=self.min_length, covariates=self.covariates)
        spec = self.spec or FeatureSpec.for_frequency(freq, self.scalings[0], calendar=self.calendar)
        member = _Member(spec, history, self.max_rows_per_series, self.covariates)
        member.point = booster
        self._members, self._history, self._freq = [member], history, freq
        return self

    def _forecast(self, horizon: int, levels: list[float], future: pd.DataFrame | None) -> pd.DataFrame:
        history = self._fitted(self._history)
        groups = [g.to_numpy(dtype=float) for _, g in history.groupby("unique_id", sort=True)["y"]]
        steps = validate_future(future, history, horizon, self._freq, self.covariates)
        out = steps[["unique_id", "ds"]].copy()
        dates = out["ds"].to_numpy().reshape(len(groups), horizon)
        exogenous = steps[list(self.covariates)].to_numpy(dtype=float).reshape(len(groups), horizon, -1)
        points, spreads = [], []
        for member in self._members:
            point = member.recurse(groups, dates, exogenous)
            points.append(point)
            if levels:
                offsets = member.quantile_offsets(groups, dates, exogenous, levels, self.params, self.n_estimators)
                spreads.append(point[:, :, None] + offsets)
        point = np.median(np.stack(points), axis=0)
        spread = np.median(np.stack(spreads), axis=0) if levels else np.empty((len(groups), horizon, 0))
        # Series that never went negative (demand, counts) are not forecast below zero.
        floor = np.where([y.min() >= 0 for y in groups], 0.0, -np.inf)[:, None]
        point = np.maximum(point, floor)
        spread = np.maximum(spread, floor[:, :, None])
        out[POINT_COLUMN] = point.ravel()
        for i, q in enumerate(levels):
            out[quantile_column(q)] = spread[:, :, i].ravel()
        return monotone_quantiles(out, levels)


class _Member:
    """One point booster (and its direct quantile boosters) for one row scaling."""

    def __init__(
        self, spec: FeatureSpec, history: pd.DataFrame, max_rows_per_series: int | None, covariates: tuple[str, ...]
    ) -> None:
        features, target = design_matrix(history, spec, max_rows_per_series, covariates)
        self.spec, self.history, self.covariates = spec, history, covariates
        self.max_rows_per_series = max_rows_per_series
        # Covariate names may hold characters xgboost refuses in feature names.
        self.names = [*spec.names, *(f"covariate{i}" for i in range(len(covariates)))]
        self.train = xgb.DMatrix(features, label=target, feature_names=self.names)
        self.point: xgb.Booster | None = None
        self.quantiles: dict[tuple[tuple[float, ...], int], xgb.Booster] = {}

    def boost(self, params: dict[str, Any], objective: dict[str, Any], rounds: int) -> xgb.Booster:
        return xgb.train({**params, **objective}, self.train, num_boost_round=rounds)

    def _context(self, groups: list[np.ndarray]) -> np.ndarray:
        context = np.full((len(groups), self.spec.context), np.nan)
        for row, y in enumerate(groups):
            tail = y[-self.spec.context :]
            context[row, self.spec.context - len(tail) :] = tail
        return context

    def recurse(self, groups: list[np.ndarray], dates: np.ndarray, exogenous: np.ndarray) -> np.ndarray:
        """Point path ``(series, horizon)``; ``exogenous`` is ``(series, horizon, covariates)``."""
        assert self.point is not None
        spec, horizon = self.spec, dates.shape[1]
        context = self._context(groups)
        point = np.empty((len(groups), horizon))
        for step in range(horizon):
            feats, level, scale = window_features(context, spec)
            calendar = calendar_features(dates[:, step], spec.calendar)
            # inplace_predict skips building a DMatrix per step (most of the recursion's cost on small panels).
            rows = np.hstack([feats, calendar, exogenous[:, step, :]])
            point[:, step] = level + self.point.inplace_predict(rows) * scale
            context = np.hstack([context[:, 1:], point[:, step : step + 1]])
        return point

    def quantile_offsets(
        self,
        groups: list[np.ndarray],
        dates: np.ndarray,
        exogenous: np.ndarray,
        levels: list[float],
        params: dict[str, Any],
        rounds: int,
    ) -> np.ndarray:
        """Per series, step and level, the k-step quantile's distance from the k-step median."""
        horizon = dates.shape[1]
        alphas = tuple(sorted({*levels, 0.5}))
        booster = self._direct_booster(alphas, horizon, params, rounds)
        feats, _, scale = window_features(self._context(groups), self.spec)
        rows = [
            np.hstack(
                [
                    feats,
                    calendar_features(dates[:, k], self.spec.calendar),
                    exogenous[:, k, :],
                    np.full((len(groups), 1), k + 1.0),
                ]
            )
            for k in range(horizon)
        ]
        matrix = xgb.DMatrix(np.vstack(rows), feature_names=[*self.names, "steps_ahead"])
        z = booster.predict(matrix).reshape(horizon, len(groups), len(alphas)).transpose(1, 0, 2)
        centred = z[:, :, [alphas.index(q) for q in levels]] - z[:, :, [alphas.index(0.5)]]
        return centred * scale[:, None, None]

    def _direct_booster(
        self, alphas: tuple[float, ...], horizon: int, params: dict[str, Any], rounds: int
    ) -> xgb.Booster:
        key = (alphas, horizon)
        if key not in self.quantiles:
            features, target = design_matrix(
                self.history, self.spec, self.max_rows_per_series, self.covariates, steps_ahead=horizon
            )
            train = xgb.DMatrix(features, label=target, feature_names=[*self.names, "steps_ahead"])
            objective = {"objective": "reg:quantileerror", "quantile_alpha": np.array(alphas)}
            self.quantiles[key] = xgb.train({**params, **objective}, train, num_boost_round=rounds)
        return self.quantiles[key]
