"""An xgboost champion's intervals from the errors its training run measured on a validation window, so that serving
fits nothing (no Ray, no HTTP here).

The train job holds out each series' last ``horizon`` steps as its test window (the champion comparison). The
validation window is the ``horizon`` steps before that, cut from the training data: the same model kind is fitted
on what precedes it (``validation_set``; xgboost in the champion's own Ray Train run) and forecasts it, and each
series' forecasts and actuals there are kept in the run's ``metrics.series_validation`` (``validation_window``).
Serving turns them into quantiles around the checkpoint's point forecast (``with_validation_spread``), split
conformal, one spread for every step of the horizon (one window per series holds one error per step, too few for a
quantile per step): where every validation forecast is above ``RATIO_FLOOR`` of the history's mean (demand, whose
spread grows with its level), the point times the quantiles of actual / forecast, so a zero-demand day keeps a zero
lower bound; elsewhere the point plus the quantiles of actual - forecast. The test window is never used.

Until 2026-12-08 every request for a trained xgboost champion fitted the statistical selection on the series'
history to borrow its intervals (about 1 s); a series without stored errors (a run recorded before, or one whose
validation forecast could not be scored) still does, and the answer's reason says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from training.models.base import POINT_COLUMN
from training.validation import quantile_column

SERIES_VALIDATION = "series_validation"  # the run's metrics key: unique_id -> {"yhat": [...], "y": [...]}, step order
VALIDATED_KINDS = ("xgboost",)  # DeepAR and LSTM forecast their own quantiles
# The spread scales with the point where every validation forecast is above this share of the history's mean.
RATIO_FLOOR = 0.05


def split_holdout(history: pd.DataFrame, horizon: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``history`` without each series' last ``horizon`` steps, and those steps."""
    from_end = history.groupby("unique_id").cumcount(ascending=False)
    return history[from_end >= horizon], history[from_end < horizon]


def validation_set(kind: str, train: pd.DataFrame, horizon: int) -> pd.DataFrame | None:
    """What a kind whose intervals come from its validation window is also fitted on: ``train`` (which holds no test
    step) less each series' last ``horizon`` steps, the window; None for any other kind."""
    return split_holdout(train, horizon)[0] if kind in VALIDATED_KINDS else None


def validation_window(train: pd.DataFrame, horizon: int, model: Any) -> dict[str, dict[str, dict[str, list[float]]]]:
    """``{SERIES_VALIDATION: {unique_id: {"yhat": forecasts, "y": actuals}}}``: ``model`` (one with ``predict(horizon)``
    fitted on ``validation_set``) forecasting ``train``'s last ``horizon`` steps, the steps it was not fitted on (a
    model that saw them forecasts later steps: none kept). ``{}`` without a model (a kind with its own quantiles)."""
    if model is None:
        return {}
    window = split_holdout(train, horizon)[1]
    forecast = model.predict(horizon)
    merged = window.merge(forecast[["unique_id", "ds", POINT_COLUMN]], on=["unique_id", "ds"], how="inner")
    merged = merged.dropna(subset=["y", POINT_COLUMN]).sort_values("ds")
    return {
        SERIES_VALIDATION: {
            str(uid): {column: [round(float(v), 4) for v in rows[column]] for column in (POINT_COLUMN, "y")}
            for uid, rows in merged.groupby("unique_id")
        }
    }


def ratio_floor(history: pd.DataFrame) -> float:
    """The level above which a forecast of ``history``'s series scales its spread: ``RATIO_FLOOR`` of its mean for a
    series that never went negative (demand), else none (infinite): under it a ratio would blow the spread up."""
    return RATIO_FLOOR * float(history["y"].mean()) if bool((history["y"] >= 0).all()) else np.inf


def with_validation_spread(
    points: pd.DataFrame, validation: Sequence[tuple[float, float]], history: pd.DataFrame, quantiles: Sequence[float]
) -> tuple[pd.DataFrame, str]:
    """``points`` (a point forecast of ``history``'s series) with each quantile ``q`` from the ``validation``
    (forecast, actual) pairs: the point times the ``q`` quantile of actual / forecast where every forecast there is
    above ``RATIO_FLOOR`` of ``history``'s mean and ``history`` never went negative, else the point plus the ``q``
    quantile of actual - forecast (linear interpolation). Also how: "scaled" or "added"."""
    forecast, actual = np.asarray(validation, dtype=float).reshape(-1, 2).T
    point = points[POINT_COLUMN].to_numpy(float)
    scaled = bool((forecast > ratio_floor(history)).all())
    out = points.copy()
    for q in quantiles:
        if scaled:
            out[quantile_column(q)] = np.clip(point, 0.0, None) * float(np.quantile(actual / forecast, q))
        else:
            out[quantile_column(q)] = point + float(np.quantile(actual - forecast, q))
    return out, "scaled" if scaled else "added"
