"""Rolling-origin cross-validation: refit at several cutoffs, score each horizon-long window."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from training import metrics
from training.errors import ForecastInputError
from training.frequency import season_length
from training.models.base import POINT_COLUMN, Forecaster
from training.validation import (
    covariate_columns,
    quantile_column,
    validate_history,
    validate_horizon,
    validate_quantiles,
)

METRICS = ("mase", "smape", "rmse", "bias", "pinball")


def cross_validation(
    make_model: Callable[[], Forecaster],
    df: pd.DataFrame,
    freq: str,
    horizon: int,
    n_windows: int = 2,
    step: int | None = None,
    quantiles: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Forecasts from ``n_windows`` origins, the last one ``horizon`` steps before each series ends.

    Origins are ``step`` (default ``horizon``) steps apart and counted from the end of each
    series. Returns ``unique_id, ds, cutoff, y, yhat`` and the quantile columns. Covariate
    columns of ``df`` go to the model, their held-out values as the known future.
    """
    horizon = validate_horizon(horizon)
    step = horizon if step is None else validate_horizon(step)
    if n_windows < 1:
        raise ForecastInputError(f"n_windows must be at least 1, got {n_windows}")
    covariates = covariate_columns(df)
    history = validate_history(df, freq, covariates=covariates)
    from_end = history.groupby("unique_id", sort=False).cumcount(ascending=False)
    needed = horizon + (n_windows - 1) * step
    lengths = history.groupby("unique_id", sort=True).size()
    short = lengths[lengths <= needed]
    if not short.empty:
        raise ForecastInputError(
            f"{len(short)} series too short for {n_windows} backtest window(s) of {horizon} steps: "
            f"e.g. unique_id={short.index[0]!r} has {int(short.iloc[0])}, needs more than {needed}"
        )
    frames = []
    for window in range(n_windows):
        held_out = horizon + (n_windows - 1 - window) * step
        train = history[from_end >= held_out]
        test = history[(from_end < held_out) & (from_end >= held_out - horizon)]
        future = test[["unique_id", "ds", *covariates]] if covariates else None
        forecast = make_model().fit(train, freq).predict(horizon, quantiles, future)
        cutoffs = train.groupby("unique_id", sort=False)["ds"].max().rename("cutoff")
        merged = (
            test[["unique_id", "ds", "y"]]
            .merge(forecast, on=["unique_id", "ds"], how="left")
            .join(cutoffs, on="unique_id")
        )
        frames.append(merged)
    return pd.concat(frames, ignore_index=True)


def score(
    forecasts: pd.DataFrame,
    history: pd.DataFrame,
    freq: str,
    quantiles: Sequence[float] | None = None,
    point_column: str = POINT_COLUMN,
) -> pd.DataFrame:
    """Per-series metrics of ``cross_validation`` output, averaged over its windows.

    MASE is scaled by each window's own training data; ``pinball`` is the mean quantile loss
    over the requested levels (NaN when none were requested).
    """
    season = season_length(freq)
    levels = validate_quantiles(quantiles)
    values = {uid: g.set_index("ds")["y"] for uid, g in history.groupby("unique_id", sort=False)}
    rows = []
    for (uid, cutoff), window in forecasts.groupby(["unique_id", "cutoff"], sort=True):
        y = window["y"].to_numpy(dtype=float)
        f = window[point_column].to_numpy(dtype=float)
        insample = values[uid].loc[:cutoff].to_numpy(dtype=float)
        losses = [metrics.pinball(y, window[quantile_column(q)].to_numpy(dtype=float), q) for q in levels]
        rows.append(
            {
                "unique_id": uid,
                "mase": metrics.mase(y, f, insample, season),
                "smape": metrics.smape(y, f),
                "rmse": metrics.rmse(y, f),
                "bias": metrics.bias(y, f),
                "pinball": float(np.mean(losses)) if losses else np.nan,
            }
        )
    return pd.DataFrame(rows).groupby("unique_id", sort=True)[list(METRICS)].mean()
