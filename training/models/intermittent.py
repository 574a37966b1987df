"""Intermittent-demand methods (Croston SBA, TSB) for spare-parts style series with many zeros."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self

import numpy as np
import pandas as pd
from statsforecast.models import TSB, CrostonSBA

from training.errors import ForecastInputError
from training.models.base import POINT_COLUMN, Forecaster, monotone_quantiles
from training.models.statistical import run_statsforecast
from training.validation import quantile_column, validate_history

_MODELS: dict[str, Callable[[], Any]] = {
    "croston_sba": CrostonSBA,
    # Smoothing constants in the range Teunter, Syntetos and Babai recommend for TSB.
    "tsb": lambda: TSB(alpha_d=0.1, alpha_p=0.1),
}
INTERMITTENT_MODELS = tuple(_MODELS)
# Syntetos-Boylan: average inter-demand interval above 1.32 periods marks a series intermittent.
ADI_THRESHOLD = 1.32


def is_intermittent(y: np.ndarray) -> bool:
    """Whether a demand series is intermittent (average inter-demand interval above 1.32)."""
    nonzero = int(np.count_nonzero(y))
    return nonzero == 0 or len(y) / nonzero > ADI_THRESHOLD


class IntermittentForecaster(Forecaster):
    """Croston SBA or TSB point forecasts with empirical quantiles of per-period demand.

    Both methods forecast a flat mean demand rate, so the quantiles are those of the observed
    per-period demand over the last ``quantile_window`` periods: the stationary distribution
    these methods assume, zeros included, and never negative.
    """

    min_length = 2

    def __init__(self, model: str = "croston_sba", *, quantile_window: int | None = None) -> None:
        if model not in _MODELS:
            raise ForecastInputError(f"unknown intermittent model {model!r}; choose one of {INTERMITTENT_MODELS}")
        self.name = model
        self.quantile_window = quantile_window
        self._history: pd.DataFrame | None = None
        self._freq = ""

    def fit(self, df: pd.DataFrame, freq: str) -> Self:
        self._history = validate_history(df, freq, min_length=self.min_length)
        self._freq = freq
        return self

    def _forecast(self, horizon: int, levels: list[float], future: pd.DataFrame | None) -> pd.DataFrame:
        history = self._fitted(self._history)
        out = run_statsforecast(_MODELS[self.name](), history, self._freq, horizon, None)
        out[POINT_COLUMN] = out[POINT_COLUMN].clip(lower=0.0)
        if levels:
            if self.quantile_window is not None:
                history = history.groupby("unique_id", sort=False).tail(self.quantile_window)
            table = history.groupby("unique_id", sort=True)["y"].quantile(levels).clip(lower=0.0).unstack()
            table.columns = [quantile_column(q) for q in levels]
            out = out.merge(table, left_on="unique_id", right_index=True, how="left")
        return monotone_quantiles(out.reset_index(drop=True), levels)
