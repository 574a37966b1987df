"""A disruption model trained on what was known on a cutoff day, scored on the lines ordered since
(``chainsight risk backtest``)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from common.errors import InvalidInputError
from risk.judging import Fitter
from risk.model import Calibration, classification_metrics
from risk.pipeline import labelled_rows, train_disruption_model


def backtest(
    history: pd.DataFrame,
    cutoff: date,
    *,
    fitter: Fitter | None = None,
    calibration: Calibration | None = None,
) -> dict[str, Any]:
    """Train (decision included) on what was known on ``cutoff``; evaluate on lines ordered on or after it.

    Known on ``cutoff``: lines ordered before it, with the deliveries made before it (a later delivery is
    erased, so an outcome settled after the cutoff cannot reach the training run). Reports the served scorer,
    the booster (whether served or not) and the baseline on the same rows.
    """
    history = history.drop(columns="dock_today", errors="ignore")  # the cutoff settles every line, not the run's day
    rows = labelled_rows(history)
    at = pd.Timestamp(cutoff)
    after = (rows.order_date >= at).to_numpy()
    if after.sum() == 0:
        raise InvalidInputError(f"no completed deliveries were ordered on or after {cutoff}", code="empty_test_period")
    known = history[history["order_date"] < at]
    known = known.assign(delivered_date=known["delivered_date"].where(known["delivered_date"] < at))
    model = train_disruption_model(known, fitter=fitter, as_of=at, calibration=calibration)
    test = rows.features[after]
    return {
        "cutoff": cutoff.isoformat(),
        "training_rows": model.metrics["training_rows"],
        "calibration_rows": model.metrics["calibration_rows"],
        "calibration_method": model.calibrator.method,
        "served": model.scorer,
        "reason": model.reason,
        "model": classification_metrics(rows.late[after], model.predict(test)),
        "candidate": classification_metrics(rows.late[after], model.predict_candidate(test)),
        "baseline_supplier_late_rate": classification_metrics(rows.late[after], rows.supplier_late_rate[after]),
    }
