"""The one interface every forecaster implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Self, TypeVar

import numpy as np
import pandas as pd

from training.errors import ForecastInputError
from training.validation import quantile_column, validate_horizon, validate_quantiles

T = TypeVar("T")

POINT_COLUMN = "yhat"


class Forecaster(ABC):
    """Fits on a long frame ``unique_id, ds, y`` and forecasts every series it was fitted on.

    Extra columns of the frame are covariates (known-in-advance regressors such as price or a
    promotion flag). Models that can use them (the global xgboost) do; the others ignore them.

    ``predict`` returns ``unique_id, ds, yhat`` plus one ``q<level>`` column per requested
    quantile (see ``training.validation.quantile_column``), non-decreasing in the level.
    """

    #: Short identifier used in selection tables and benchmark output.
    name: str = "forecaster"
    #: Fewest observations a series needs for this model to fit it.
    min_length: int = 1
    #: Covariate columns the fitted model uses; their future values must be passed to ``predict``.
    covariates: tuple[str, ...] = ()
    #: True for models learned across series (they need a panel of long series to learn from).
    is_global: bool = False

    def required_length(self, freq: str) -> int:
        """Fewest observations a series needs for this model at pandas frequency ``freq``."""
        return self.min_length

    @abstractmethod
    def fit(self, df: pd.DataFrame, freq: str) -> Self:
        """Learn from the history ``df`` sampled at pandas frequency ``freq``."""

    def predict(
        self, horizon: int, quantiles: Sequence[float] | None = None, future: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        """Forecast ``horizon`` steps past the end of each fitted series.

        ``future`` holds ``unique_id, ds`` and the covariates' values over the horizon; models
        that use no covariates ignore it.
        """
        return self._forecast(validate_horizon(horizon), validate_quantiles(quantiles), future)

    @abstractmethod
    def _forecast(self, horizon: int, levels: list[float], future: pd.DataFrame | None) -> pd.DataFrame:
        """``predict`` with a checked horizon and sorted distinct quantile ``levels``."""

    def _fitted(self, state: T | None) -> T:
        """``state`` set by ``fit``; refuses (before predict runs) when fit has not been called."""
        if state is None:
            raise ForecastInputError(f"{self.name}: call fit() before predict()")
        return state


def monotone_quantiles(forecast: pd.DataFrame, quantiles: Sequence[float]) -> pd.DataFrame:
    """``forecast`` with its quantile columns sorted row-wise, so no two levels ever cross."""
    columns = [quantile_column(q) for q in sorted(quantiles)]
    if columns:
        forecast[columns] = np.sort(forecast[columns].to_numpy(dtype=float), axis=1)
    return forecast
