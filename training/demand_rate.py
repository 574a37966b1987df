"""Demand per period from one series' forecast, the input ``inventory.optimisation`` plans a policy from."""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats

from inventory.optimisation import DemandRate
from training.errors import ForecastInputError
from training.models.base import POINT_COLUMN
from training.validation import quantile_column, quantile_levels


def demand_rate_from_forecast(
    forecast: pd.DataFrame, periods: float, residual_sd: float | None = None, history_sd: float | None = None
) -> tuple[DemandRate, str]:
    """Demand per period over the next ``periods`` of one series' forecast, and how its sd was obtained.

    The mean is the average point forecast over the first ``ceil(periods)`` steps (so trend and
    season in the lead time are respected). The per-period standard deviation is ``residual_sd``
    (e.g. the backtest's one-step error) when given, otherwise it is read from the widest symmetric
    pair of quantiles of the first step, the one-step-ahead error distribution:
    ``(q_hi - q_lo) / (z_hi - z_lo)``. Where the lower quantile and the median sit at zero under a positive
    forecast (intermittent demand, zero in most periods) the quantiles are not a normal error's: ``history_sd``,
    the history's own per-period sd, stands instead when it is the larger.
    """
    if forecast.empty:
        raise ForecastInputError("the forecast is empty")
    steps = max(1, math.ceil(periods))
    head = forecast.sort_values("ds").head(steps)
    if len(head) < steps:
        raise ForecastInputError(f"the forecast covers {len(head)} periods; the protection interval needs {steps}")
    mean = max(float(head[POINT_COLUMN].clip(lower=0).mean()), 0.0)
    if residual_sd is not None:
        return DemandRate(mean=mean, sd=float(residual_sd)), "residual standard deviation"
    levels = quantile_levels(list(forecast.columns))
    pairs = [(lo, hi) for lo in levels for hi in levels if lo < 0.5 < hi]
    if not pairs:
        raise ForecastInputError("the forecast has no quantiles below and above the median; pass residual_sd")
    lo, hi = max(pairs, key=lambda pair: pair[1] - pair[0])
    first = head.iloc[0]
    low, high, point = (float(first[c]) for c in (quantile_column(lo), quantile_column(hi), POINT_COLUMN))
    if low <= 0 < point:
        # Demand forecasts clip their quantiles at zero: a lower quantile there is not the error distribution's
        # (N(10, 20) has q0.1 = -15.6, kept as 0), and the pair would read sd 13.9, not 20. The upper half says it.
        sd = max(high - point, 0.0) / float(stats.norm.ppf(hi))
        median = quantile_column(0.5)
        intermittent = median in first.index and float(first[median]) <= 0
        if history_sd and history_sd > sd and (sd == 0 or intermittent):
            # Zero in most periods, the upper quantile sits just above the mean: demand of 0 or 1-29 units on 15% of
            # days read sd 0.61 against the history's 6.1, a reorder point that a third of the weeks outran.
            zeros = f"{lo:g} and 0.5" if intermittent else f"{lo:g}-{hi:g}"
            source = f"the history's per-period sd (the one-step quantiles {zeros} are 0: intermittent demand)"
            return DemandRate(mean=mean, sd=history_sd), source
        return DemandRate(mean=mean, sd=sd), f"one-step quantile {hi:g} above the forecast ({lo:g} is clipped at 0)"
    sd = max(high - low, 0.0) / float(stats.norm.ppf(hi) - stats.norm.ppf(lo))
    return DemandRate(mean=mean, sd=sd), f"one-step quantiles {lo:g}-{hi:g}"
