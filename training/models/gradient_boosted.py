"""A global xgboost model over lag, rolling and calendar features, forecasting recursively."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import pandas as pd
import xgboost as xgb

from training.features import FeatureSpec, calendar_features, design_matrix, series_scale, window_features
from training.models.base import POINT_COLUMN, Forecaster, monotone_quantiles
from training.validation import (
    future_dates,
    quantile_column,
    validate_history,
    validate_horizon,
    validate_quantiles,
)


class GradientBoostedForecaster(Forecaster):
    """One xgboost model for all series; multi-step forecasts feed predictions back as lags.

    The point model minimises squared error on normalised targets. Quantiles come from a second
    booster with xgboost's ``reg:quantileerror`` objective, trained on first request for the
    requested levels and run on the same recursive path, so its spread reflects one-step
    uncertainty and widens only as far as the features do.
    """

    name = "xgboost"
    min_length = 2

    def __init__(
        self,
        *,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        max_depth: int = 6,
        max_rows_per_series: int | None = None,
        spec: FeatureSpec | None = None,
        n_jobs: int = 1,
        seed: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.params: dict[str, Any] = {
            "eta": learning_rate,
            "max_depth": max_depth,
            "subsample": 0.8,
            "colsample_bytree": 0.8,
            "nthread": n_jobs,
            "seed": seed,
        }
        self.max_rows_per_series = max_rows_per_series
        self.spec = spec
        self._history: pd.DataFrame | None = None
        self._train: xgb.DMatrix | None = None
        self._point: xgb.Booster | None = None
        self._quantile_boosters: dict[tuple[float, ...], xgb.Booster] = {}
        self._freq = ""

    def fit(self, df: pd.DataFrame, freq: str) -> Self:
        history = validate_history(df, freq, min_length=self.min_length)
        spec = self.spec or FeatureSpec.for_frequency(freq)
        features, target = design_matrix(history, spec, self.max_rows_per_series)
        self._train = xgb.DMatrix(features, label=target, feature_names=spec.names)
        self._point = self._boost({"objective": "reg:squarederror"})
        self._quantile_boosters = {}
        self.spec, self._history, self._freq = spec, history, freq
        return self

    def attach(self, booster: xgb.Booster, df: pd.DataFrame, freq: str) -> Self:
        """Use a point booster trained elsewhere (e.g. by Ray Train's XGBoostTrainer) on this history.

        The booster must come from ``design_matrix`` with this model's ``spec``; quantile boosters are
        still trained here on first request.
        """
        history = validate_history(df, freq, min_length=self.min_length)
        spec = self.spec or FeatureSpec.for_frequency(freq)
        features, target = design_matrix(history, spec, self.max_rows_per_series)
        self._train = xgb.DMatrix(features, label=target, feature_names=spec.names)
        self._point, self._quantile_boosters = booster, {}
        self.spec, self._history, self._freq = spec, history, freq
        return self

    def predict(self, horizon: int, quantiles: Sequence[float] | None = None) -> pd.DataFrame:
        self._require_fitted(self._point)
        assert self._history is not None and self._point is not None and self.spec is not None
        horizon = validate_horizon(horizon)
        levels = validate_quantiles(quantiles)
        quantile_model = self._quantile_booster(tuple(levels)) if levels else None
        spec = self.spec
        groups = [g.to_numpy(dtype=float) for _, g in self._history.groupby("unique_id", sort=True)["y"]]
        scale = np.array([series_scale(y) for y in groups])
        context = np.full((len(groups), spec.context), np.nan)
        for row, y in enumerate(groups):
            tail = y[-spec.context :]
            context[row, spec.context - len(tail) :] = tail
        out = future_dates(self._history, horizon, self._freq)
        dates = out["ds"].to_numpy().reshape(len(groups), horizon)
        point = np.empty((len(groups), horizon))
        spread = np.empty((len(groups), horizon, len(levels)))
        for step in range(horizon):
            feats, level = window_features(context, spec, scale)
            matrix = xgb.DMatrix(np.hstack([feats, calendar_features(dates[:, step])]), feature_names=spec.names)
            point[:, step] = level + self._point.predict(matrix) * scale
            if quantile_model is not None:
                z = quantile_model.predict(matrix).reshape(len(groups), len(levels))
                spread[:, step, :] = level[:, None] + z * scale[:, None]
            context = np.hstack([context[:, 1:], point[:, step : step + 1]])
        out[POINT_COLUMN] = point.ravel()
        for i, q in enumerate(levels):
            out[quantile_column(q)] = spread[:, :, i].ravel()
        return monotone_quantiles(out, levels)

    def _quantile_booster(self, levels: tuple[float, ...]) -> xgb.Booster:
        if levels not in self._quantile_boosters:
            objective = {"objective": "reg:quantileerror", "quantile_alpha": np.array(levels)}
            self._quantile_boosters[levels] = self._boost(objective)
        return self._quantile_boosters[levels]

    def _boost(self, objective: dict[str, Any]) -> xgb.Booster:
        assert self._train is not None
        return xgb.train({**self.params, **objective}, self._train, num_boost_round=self.n_estimators)
