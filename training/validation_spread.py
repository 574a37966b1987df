"""An xgboost champion's intervals from the errors its training run measured on a validation window, so that serving
fits nothing (no Ray, no HTTP here).

The train job holds out each series' last ``horizon`` steps as its test window (the champion comparison). The
validation window is the ``horizon`` steps before that, cut from the training data: the same model kind is fitted
on what precedes it, forecasts it, and each series' errors (actual minus forecast, one per step) are kept in the
run's ``metrics.series_errors`` (``validation_errors``). Serving adds their empirical quantiles to the checkpoint's
point forecast (``with_validation_spread``): split conformal, one spread for every step of the horizon (one window
per series holds one error per step, too few for a quantile per step). The test window's errors are never used.

Until 2026-12-08 every request for a trained xgboost champion fitted the statistical selection on the series'
history to borrow its intervals (about 1 s); a series without stored errors (a run recorded before, or one whose
validation forecast could not be scored) still does, and the answer's reason says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from training.models.base import POINT_COLUMN
from training.validation import quantile_column

SERIES_ERRORS = "series_errors"  # the run's metrics key: unique_id -> validation errors, in step order
VALIDATED_KINDS = ("xgboost",)  # DeepAR and LSTM forecast their own quantiles


def split_holdout(history: pd.DataFrame, horizon: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``history`` without each series' last ``horizon`` steps, and those steps."""
    from_end = history.groupby("unique_id").cumcount(ascending=False)
    return history[from_end >= horizon], history[from_end < horizon]


def validation_errors(
    kind: str, train: pd.DataFrame, horizon: int, fit: Callable[[str, pd.DataFrame], Any]
) -> dict[str, dict[str, list[float]]]:
    """``{SERIES_ERRORS: {unique_id: errors}}`` for a kind whose intervals come from them, else ``{}``: ``fit`` (a
    kind and a training set -> a model with ``predict(horizon)``) on ``train`` less its last ``horizon`` steps,
    scored on those steps (the validation window; ``train`` holds no test step)."""
    if kind not in VALIDATED_KINDS:
        return {}
    earlier, window = split_holdout(train, horizon)
    forecast = fit(kind, earlier).predict(horizon)
    merged = window.merge(forecast[["unique_id", "ds", POINT_COLUMN]], on=["unique_id", "ds"], how="inner")
    merged = merged.assign(error=merged["y"] - merged[POINT_COLUMN]).dropna(subset=["error"]).sort_values("ds")
    errors = {str(uid): [round(float(e), 4) for e in rows["error"]] for uid, rows in merged.groupby("unique_id")}
    return {SERIES_ERRORS: errors}


def with_validation_spread(points: pd.DataFrame, errors: Sequence[float], quantiles: Sequence[float]) -> pd.DataFrame:
    """``points`` (a point forecast) with each quantile ``q`` at the point plus the ``q`` quantile of ``errors``
    (linear interpolation): the 10-90% interval holds 80% of the validation errors around its forecasts."""
    spread = np.asarray(errors, dtype=float)
    out = points.copy()
    for q in quantiles:
        out[quantile_column(q)] = out[POINT_COLUMN].to_numpy(float) + float(np.quantile(spread, q))
    return out
