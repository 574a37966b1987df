"""From delivery history to a calibrated, evaluated disruption model.

Rows are split by order date, never at random: the booster learns from the oldest lines, the calibration
map from the next ones, and evaluation (when asked for) uses only lines ordered after both, as a buyer
would use the model. The booster is fitted by a ``Fitter``: in process (``risk.model.fit_booster``) or
on Ray Train workers (``risk.training.ray_fitter``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from common.errors import InvalidInputError
from risk.features import build_features, delivery_outcomes
from risk.model import Calibration, DisruptionModel, calibrate, classification_metrics, fit_booster

Fitter = Callable[[pd.DataFrame, np.ndarray], xgb.Booster]
MIN_TRAINING_ROWS = 60


@dataclass(frozen=True)
class LabelledRows:
    features: pd.DataFrame
    late: np.ndarray
    delay: np.ndarray
    order_date: pd.Series
    supplier_late_rate: np.ndarray


def labelled_rows(history: pd.DataFrame) -> LabelledRows:
    """Features of every completed line as of its order date, with its outcome, in order-date order."""
    history = history.sort_values("order_date", kind="stable").reset_index(drop=True)
    features = build_features(history)
    outcomes = delivery_outcomes(history)
    done = outcomes["late"].notna().to_numpy()
    return LabelledRows(
        features=features[done].reset_index(drop=True),
        late=outcomes["late"].to_numpy()[done],
        delay=outcomes["delay"].to_numpy()[done],
        order_date=history["order_date"][done].reset_index(drop=True),
        supplier_late_rate=features["supplier_late_rate"].to_numpy()[done],
    )


def train_disruption_model(
    history: pd.DataFrame,
    *,
    fitter: Fitter | None = None,
    calibration_share: float = 0.2,
    calibration: Calibration | None = None,
) -> DisruptionModel:
    """Fit on the older lines, calibrate on the most recent ``calibration_share`` of them."""
    rows = labelled_rows(history)
    return _fit_and_calibrate(rows, np.ones(len(rows.late), dtype=bool), fitter, calibration_share, calibration)


def _fit_and_calibrate(
    rows: LabelledRows,
    mask: np.ndarray,
    fitter: Fitter | None,
    calibration_share: float,
    calibration: Calibration | None,
) -> DisruptionModel:
    index = np.flatnonzero(mask)
    if len(index) < MIN_TRAINING_ROWS:
        raise InvalidInputError(
            f"{len(index)} completed deliveries is too little history to train on (at least {MIN_TRAINING_ROWS})",
            code="insufficient_history",
        )
    cut = int(len(index) * (1 - calibration_share))
    fit_at, calibrate_at = index[:cut], index[cut:]
    if len(np.unique(rows.late[fit_at])) < 2 or len(np.unique(rows.late[calibrate_at])) < 2:
        raise InvalidInputError(
            "the history needs both late and on-time deliveries in its training and calibration periods",
            code="insufficient_history",
        )
    booster = (fitter or fit_booster)(rows.features.iloc[fit_at].reset_index(drop=True), rows.late[fit_at])
    model = calibrate(
        booster, rows.features.iloc[calibrate_at], rows.late[calibrate_at], rows.delay[calibrate_at], calibration
    )
    model.metrics = {
        "training_rows": len(fit_at),
        "calibration_rows": len(calibrate_at),
        "calibration_method": model.calibrator.method,
        "calibration": classification_metrics(rows.late[calibrate_at], model.predict(rows.features.iloc[calibrate_at])),
    }
    return model


def backtest(
    history: pd.DataFrame,
    cutoff: date,
    *,
    fitter: Fitter | None = None,
    calibration: Calibration | None = None,
) -> dict[str, Any]:
    """Train on lines ordered before ``cutoff``; evaluate on lines ordered on or after it."""
    rows = labelled_rows(history)
    before = (rows.order_date < pd.Timestamp(cutoff)).to_numpy()
    after = ~before
    if after.sum() == 0:
        raise InvalidInputError(f"no completed deliveries were ordered on or after {cutoff}", code="empty_test_period")
    model = _fit_and_calibrate(rows, before, fitter, 0.2, calibration)
    probability = model.predict(rows.features[after])
    return {
        "cutoff": cutoff.isoformat(),
        "training_rows": model.metrics["training_rows"],
        "calibration_rows": model.metrics["calibration_rows"],
        "calibration_method": model.calibrator.method,
        "model": classification_metrics(rows.late[after], probability),
        "baseline_supplier_late_rate": classification_metrics(rows.late[after], rows.supplier_late_rate[after]),
    }
