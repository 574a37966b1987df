"""Local statistical models (one fit per series) run through Nixtla's statsforecast."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from statistics import NormalDist
from typing import Any, Self

import numpy as np
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import (
    AutoARIMA,
    AutoCES,
    AutoETS,
    AutoTheta,
    DynamicOptimizedTheta,
    Naive,
    SeasonalNaive,
)

from training.errors import ForecastInputError
from training.frequency import season_length
from training.models.base import POINT_COLUMN, Forecaster, monotone_quantiles
from training.validation import quantile_column, validate_history, validate_horizon, validate_quantiles

# Each factory builds the statsforecast model for a season length.
_MODELS: dict[str, Callable[[int], Any]] = {
    "naive": lambda _: Naive(),
    "seasonal_naive": lambda m: SeasonalNaive(season_length=m),
    "auto_ets": lambda m: AutoETS(season_length=m),
    "auto_theta": lambda m: AutoTheta(season_length=m),
    "auto_arima": lambda m: AutoARIMA(season_length=m),
    # A narrower stepwise search (orders up to 3, one seasonal term, at most 30 models): the
    # budgeted ARIMA the selection combines, several times faster than the default search.
    "arima": lambda m: AutoARIMA(season_length=m, max_p=3, max_q=3, max_P=1, max_Q=1, nmodels=30),
    "auto_ces": lambda m: AutoCES(season_length=m),
    # The dynamic optimised Theta of Fiorucci et al. (2016), one of the four AutoTheta tries.
    "dynamic_theta": lambda m: DynamicOptimizedTheta(season_length=m),
}
STATISTICAL_MODELS = tuple(_MODELS)
# Paths statsforecast simulates for these models' intervals (Theta's compute_pi_samples, CES's
# _simulate_pred_intervals); the other models' intervals are analytic.
SIMULATED_PATHS: tuple[tuple[type, int], ...] = ((AutoTheta, 200), (AutoCES, 5000))
# A simulated quantile with fewer paths beyond it is the sample's extreme, whatever the level asked.
MIN_TAIL_PATHS = 5


class StatisticalForecaster(Forecaster):
    """Naive, seasonal naive, AutoETS, AutoTheta, AutoARIMA, AutoCES or Theta, fitted per series.

    Prediction intervals at level ``|2q - 1|`` give quantile ``q``: the models' intervals are
    symmetric around the point forecast, which is therefore the median. Where the interval is a
    quantile of too few simulated paths (Theta's 0.99, CES's 0.9999), the 80% band's normal
    width gives it instead. ``max_history`` keeps
    only the most recent observations of each series, which bounds the cost of long histories.
    """

    def __init__(self, model: str, *, max_history: int | None = None, n_jobs: int = 1) -> None:
        if model not in _MODELS:
            raise ForecastInputError(f"unknown statistical model {model!r}; choose one of {STATISTICAL_MODELS}")
        self.name = model
        self.max_history = max_history
        self.n_jobs = n_jobs
        self._history: pd.DataFrame | None = None
        self._freq = ""

    @property
    def min_length(self) -> int:  # type: ignore[override]
        return self.required_length(self._freq)

    def required_length(self, freq: str) -> int:
        # Seasonal naive needs one full season; the others fall back to non-seasonal fits.
        season = season_length(freq) if freq else 1
        return {"naive": 1, "seasonal_naive": season}.get(self.name, 3)

    @property
    def _season(self) -> int:
        return season_length(self._freq) if self._freq else 1

    def fit(self, df: pd.DataFrame, freq: str) -> Self:
        self._freq = freq
        history = validate_history(df, freq, min_length=self.min_length)
        if self.max_history is not None:
            history = history.groupby("unique_id", sort=False).tail(self.max_history)
        # statsforecast fits and forecasts in one pass; keeping the history defers the fit to
        # predict(), where the horizon and interval levels are known.
        self._history = history
        return self

    def _forecast(self, horizon: int, levels: list[float], future: pd.DataFrame | None) -> pd.DataFrame:
        history = self._fitted(self._history)
        return run_statsforecast(_MODELS[self.name](self._season), history, self._freq, horizon, levels, self.n_jobs)


def run_statsforecast(
    model: Any,
    history: pd.DataFrame,
    freq: str,
    horizon: int,
    quantiles: Sequence[float] | None,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Forecast ``history`` with one statsforecast model, intervals mapped to quantile columns."""
    horizon = validate_horizon(horizon)
    levels = validate_quantiles(quantiles)
    # Derived, not refused: 99.9% is a fair service level, and these models' normal errors make any level the 80%'s.
    derived = [q for q in levels if not _sampled_well(model, q)]
    read = [q for q in levels if q != 0.5 and q not in derived] + ([0.1, 0.9] if derived else [])
    interval = {q: _interval_column(q) for q in read}
    level_args = sorted({level for _, level in interval.values()})
    # A series a model cannot fit (AutoETS refuses fewer than 7 points) gets the naive forecast
    # instead of failing the whole panel.
    engine = StatsForecast(models=[model], freq=freq, n_jobs=n_jobs, fallback_model=Naive())
    # statsforecast accepts fractional levels although its annotation says list[int].
    raw = engine.forecast(df=history, h=horizon, level=level_args or None)  # type: ignore[arg-type]
    alias = str(model)
    out = raw[["unique_id", "ds"]].copy()
    out[POINT_COLUMN] = raw[alias].to_numpy(dtype=float)
    for q in levels:
        if q == 0.5:
            out[quantile_column(q)] = out[POINT_COLUMN]
        elif q in derived:
            side, level = interval[0.9 if q > 0.5 else 0.1]
            point = out[POINT_COLUMN].to_numpy()
            half_width = np.abs(raw[f"{alias}-{side}-{level}"].to_numpy(dtype=float) - point)
            out[quantile_column(q)] = point + half_width * NormalDist().inv_cdf(q) / NormalDist().inv_cdf(0.9)
        else:
            side, level = interval[q]
            out[quantile_column(q)] = raw[f"{alias}-{side}-{level}"].to_numpy(dtype=float)
    return monotone_quantiles(out.reset_index(drop=True), levels)


def _sampled_well(model: Any, q: float) -> bool:
    """Whether statsforecast's interval for ``q`` is a quantile of enough paths (always, where analytic)."""
    paths = next((n for kind, n in SIMULATED_PATHS if isinstance(model, kind)), None)
    return paths is None or q == 0.5 or round(min(q, 1 - q) * paths, 9) >= MIN_TAIL_PATHS


def _interval_column(q: float) -> tuple[str, int | float]:
    level = round(abs(2 * q - 1) * 100, 6)
    return ("lo" if q < 0.5 else "hi"), (int(level) if level.is_integer() else level)
