"""From delivery history to a calibrated, evaluated disruption model.

Rows are split by order date, never at random: the decision between the booster and the supplier-late-rate
baseline is made on validation windows of the newest lines, each scored by a booster fitted only on lines
ordered before it, as a buyer would use the model. The booster is fitted by a ``Fitter``: in process
(``risk.model.fit_booster``) or on Ray Train workers (``risk.training.ray_fitter``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from common.errors import InvalidInputError
from risk.features import build_features, delivery_outcomes
from risk.model import (
    BASELINE_SCORER,
    MODEL_SCORER,
    Calibration,
    DisruptionModel,
    calibrate,
    classification_metrics,
    fit_booster,
)

Fitter = Callable[[pd.DataFrame, np.ndarray], xgb.Booster]
MIN_TRAINING_ROWS = 60
DECISION_SHARE = 0.3  # newest share of the lines on which the booster and the baseline are compared
DECISION_WINDOWS = 3  # consecutive validation windows in that share, each scored by a booster fitted before it
MIN_DECISION_LATE = 20  # late lines the windows must hold before a win over the baseline counts


@dataclass(frozen=True)
class LabelledRows:
    features: pd.DataFrame
    late: np.ndarray
    delay: np.ndarray
    order_date: pd.Series
    supplier_late_rate: np.ndarray


def chronological(history: pd.DataFrame) -> pd.DataFrame:
    """Lines in order-date order, ties broken by the line's own facts, so that the same history gives the same
    model whatever order it was loaded in."""
    ties = [c for c in ("promised_date", "delivered_date", "supplier_id", "quantity", "value") if c in history]
    return history.sort_values(["order_date", *ties], kind="stable", na_position="last").reset_index(drop=True)


def labelled_rows(history: pd.DataFrame) -> LabelledRows:
    """Features of every completed line as of its order date, with its outcome, in ``chronological`` order."""
    history = chronological(history)
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
    calibration_share: float = 0.0,
    decision_share: float = DECISION_SHARE,
    decision_windows: int = DECISION_WINDOWS,
    final_calibration_share: float = 0.0,
    calibration: Calibration | None = None,
) -> DisruptionModel:
    """Decide between the booster and the supplier-late-rate baseline, then fit what will serve.

    The decision is rolling-origin: the newest ``decision_share`` of lines is cut into ``decision_windows``
    consecutive windows; for each, a booster is fitted on every older line (calibrated on their newest
    ``calibration_share``) and scores the window. The booster serves only if, over the windows' lines pooled,
    it beats the baseline on both ROC AUC and Brier score, with at least ``MIN_DECISION_LATE`` late lines
    among them. Either way the booster is then refitted with the same settings on all lines, so that it learns
    from the latest deliveries; the model records which scorer serves and why.
    """
    rows = labelled_rows(history)
    everything = np.ones(len(rows.late), dtype=bool)
    _require_history(rows, everything)
    index = np.arange(len(rows.late))
    bounds = np.linspace(int(len(index) * (1 - decision_share)), len(index), decision_windows + 1).astype(int)
    windows: list[dict[str, Any]] = []
    labels, candidate_p, baseline_p = [], [], []
    for lo, hi in itertools.pairwise(bounds):
        before, window = index < lo, (index >= lo) & (index < hi)
        if before.sum() < MIN_TRAINING_ROWS or len(np.unique(rows.late[before])) < 2 or not window.any():
            windows.append({"rows": int(window.sum()), "skipped": "too little history before it"})
            continue
        trial = _fit_and_calibrate(rows, before, fitter, calibration_share, calibration)
        labels.append(rows.late[window])
        candidate_p.append(trial.predict_candidate(rows.features[window]))
        baseline_p.append(rows.supplier_late_rate[window])
        windows.append({"rows": int(window.sum()), "late": int(labels[-1].sum())})
    pooled = np.concatenate(labels) if labels else np.array([])
    candidate = classification_metrics(pooled, np.concatenate(candidate_p) if labels else pooled)
    baseline = classification_metrics(pooled, np.concatenate(baseline_p) if labels else pooled)
    if pooled.sum() < MIN_DECISION_LATE:
        wins, reason = (
            False,
            (
                f"only {int(pooled.sum())} late deliveries in the validation windows (at least {MIN_DECISION_LATE} "
                "are needed to show that the model beats the supplier-late-rate baseline), which serves instead"
            ),
        )
    else:
        wins, reason = beats_baseline(candidate, baseline)
    # No calibration share of its own by default: the booster's log-loss probabilities around a base margin
    # that follows the current late-rate level. A map fitted on older windows (Platt's intercept) would pin the
    # level of those windows, and the real history's level moves several-fold between years.
    model = _fit_and_calibrate(rows, everything, fitter, final_calibration_share, calibration)
    model.scorer = MODEL_SCORER if wins else BASELINE_SCORER
    model.reason = reason
    model.metrics |= {
        "scorer": model.scorer,
        "reason": reason,
        "holdout": {"rows": len(pooled), "candidate": candidate, "baseline": baseline, "windows": windows},
    }
    return model


def beats_baseline(candidate: dict[str, Any], baseline: dict[str, Any]) -> tuple[bool, str]:
    """Whether the candidate beats the baseline on ROC AUC and Brier score, and the sentence saying so."""
    auc, base_auc = candidate["roc_auc"], baseline["roc_auc"]
    figures = (
        f"holdout ROC AUC {_figure(auc)} vs baseline {_figure(base_auc)}, "
        f"Brier {candidate['brier']:.4f} vs {baseline['brier']:.4f}"
    )
    if auc is None or base_auc is None:
        return False, f"the holdout has one class only, so the model cannot be shown to beat the baseline ({figures})"
    if auc > base_auc and candidate["brier"] < baseline["brier"]:
        return True, f"the model beats the supplier-late-rate baseline: {figures}"
    return False, f"the model does not beat the supplier-late-rate baseline, which serves instead: {figures}"


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _require_history(rows: LabelledRows, mask: np.ndarray) -> None:
    if mask.sum() < MIN_TRAINING_ROWS:
        raise InvalidInputError(
            f"{int(mask.sum())} completed deliveries is too little history to train on (at least {MIN_TRAINING_ROWS})",
            code="insufficient_history",
        )


def _fit_and_calibrate(
    rows: LabelledRows,
    mask: np.ndarray,
    fitter: Fitter | None,
    calibration_share: float,
    calibration: Calibration | None,
) -> DisruptionModel:
    index = np.flatnonzero(mask)
    _require_history(rows, mask)
    cut = int(len(index) * (1 - calibration_share))
    fit_at, calibrate_at = index[:cut], index[cut:]
    if calibration_share == 0:  # no rows of its own: the booster's probabilities, judged on the fit rows
        calibration, calibrate_at = "identity", fit_at
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
        "calibration": classification_metrics(
            rows.late[calibrate_at], model.predict_candidate(rows.features.iloc[calibrate_at])
        ),
    }
    return model


def backtest(
    history: pd.DataFrame,
    cutoff: date,
    *,
    fitter: Fitter | None = None,
    calibration: Calibration | None = None,
) -> dict[str, Any]:
    """Train (decision included) on lines ordered before ``cutoff``; evaluate on lines ordered on or after it.

    Reports the served scorer, the booster (whether served or not) and the baseline on the same rows.
    """
    rows = labelled_rows(history)
    before = (rows.order_date < pd.Timestamp(cutoff)).to_numpy()
    after = ~before
    if after.sum() == 0:
        raise InvalidInputError(f"no completed deliveries were ordered on or after {cutoff}", code="empty_test_period")
    model = train_disruption_model(history[history["order_date"] < pd.Timestamp(cutoff)], fitter=fitter,
                                   calibration=calibration)  # fmt: skip
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
