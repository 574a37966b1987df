"""From delivery history to a calibrated, evaluated disruption model.

Rows are split by order date, never at random, and a line teaches only once its outcome was settled (its
promised date passed) on the day it is used: the scorer that serves is chosen on validation windows of the
newest lines, each scored by a booster fitted only on the outcomes settled when the window opened, as a buyer
would have used the model. The boosters are fitted by a ``Fitter``: in process (``fit_in_process``, over
``risk.model.fit_booster``) or on Ray Train workers (``risk.training.ray_fitter``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Unpack

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import roc_auc_score

from common.errors import InvalidInputError
from risk.features import build_features, delivery_outcomes
from risk.judging import Fitter, RivalRows, TrainOptions, WindowRows
from risk.model import (
    BASELINE_SCORER,
    MODEL_SCORER,
    RATE_SCORER,
    Calibration,
    DisruptionModel,
    calibrate,
    classification_metrics,
    fit_booster,
    rate_probability,
)

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
    promised_date: pd.Series
    supplier_late_rate: np.ndarray


def chronological(history: pd.DataFrame) -> pd.DataFrame:
    """Lines in order-date order, ties broken by the line's own facts, so that the same history gives the same
    model whatever order it was loaded in (the supplier's code before its id: a fresh import draws new ids)."""
    columns = ("promised_date", "delivered_date", "supplier_code", "supplier_id", "quantity", "value")
    ties = [c for c in columns if c in history]
    return history.sort_values(["order_date", *ties], kind="stable", na_position="last").reset_index(drop=True)


# Recorded with every trained model: which lines it learned from and how they were labelled. Models stored before
# this rule (overdue open lines left out, later deliveries known) were scored on other terms.
# Champions trained under another rule are outdated and retrained (registry): since 2026-12-07 a late line's delay
# counts from its delivery (it leaked into earlier orders' features).
LABEL_RULE = "outcomes settled as of the training day; overdue open lines late; delays known on delivery"


def settled_as_of(history: pd.DataFrame) -> pd.Timestamp:
    """The day after the newest delivery in ``history``: the default day its outcomes are known as of."""
    newest = history["delivered_date"].max()
    return (history["order_date"].max() if pd.isna(newest) else newest) + pd.Timedelta(days=1)


def labelled_rows(history: pd.DataFrame, as_of: pd.Timestamp | None = None) -> LabelledRows:
    """Features of every line whose outcome is settled as of ``as_of`` (default ``settled_as_of``), as of its
    order date, with that outcome, in ``chronological`` order.

    A line is settled once its promised date has passed: on time if it was delivered by then, late otherwise
    (delivered later, after ``as_of`` or not yet). Lines still inside their promise are left out, even those
    already delivered early: keeping them would bias the newest lines towards on time (their late twins are
    not known yet), and a delivery after ``as_of`` is not known at all. A line with a ``dock_today`` (the early-warning
    job's: its receiving warehouse's date at the run) settles as of that day instead.
    """
    history = chronological(history)
    as_of = settled_as_of(history) if as_of is None else pd.Timestamp(as_of)
    # The job runs at 02:30 UTC, still the day before in the Americas: a line due there that day is not late yet.
    settles = history["dock_today"].fillna(as_of) if "dock_today" in history else as_of
    features = build_features(history)
    outcomes = delivery_outcomes(history.assign(delivered_date=history["delivered_date"].where(
        history["delivered_date"] < settles, settles)))  # fmt: skip
    done = (history["promised_date"] < settles).to_numpy()
    return LabelledRows(
        features=features[done].reset_index(drop=True),
        late=outcomes["late"].to_numpy()[done],
        delay=outcomes["delay"].to_numpy()[done],
        order_date=history["order_date"][done].reset_index(drop=True),
        promised_date=history["promised_date"][done].reset_index(drop=True),
        supplier_late_rate=features["supplier_late_rate"].to_numpy()[done],
    )


def train_disruption_model(history: pd.DataFrame, **options: Unpack[TrainOptions]) -> DisruptionModel:
    """``train_judged``'s model, without its window lines."""
    return train_judged(history, **options)[0]


def train_judged(
    history: pd.DataFrame,
    *,
    fitter: Fitter | None = None,
    as_of: pd.Timestamp | None = None,
    rival_as_of: pd.Timestamp | None = None,
    calibration_share: float = 0.0,
    decision_share: float = DECISION_SHARE,
    decision_windows: int = DECISION_WINDOWS,
    final_calibration_share: float = 0.0,
    calibration: Calibration | None = None,
) -> tuple[DisruptionModel, WindowRows]:
    """Decide which scorer serves (the booster, its starting rate alone, or the supplier-late-rate baseline),
    then fit the booster on every line settled as of ``as_of`` (``labelled_rows``; default: the day after the
    newest delivery, pass today when training on live data).

    The decision is rolling-origin: the newest ``decision_share`` of settled lines is cut into
    ``decision_windows`` consecutive windows; for each, a booster is fitted on the lines already settled when the
    window opens (calibrated on their newest ``calibration_share``) and scores the window, as a buyer would have
    used it then. ``choose_scorer`` compares the three scorers on the windows (``window_metrics``). Either way
    the booster is also fitted with the same settings on all settled lines (in the same ``fitter`` call as the
    windows' boosters: one Ray Train run); the model records which scorer serves and why. Returned with the
    windows' lines and the served scorer's probabilities there (``WindowRows``). With ``rival_as_of`` (the
    champion's as-of day), one more booster is fitted in that call on the lines settled as of that day, and scores
    (with the scorer chosen here) the lines promised on or after it (``RivalRows``): the champion's information.
    """
    as_of = settled_as_of(history) if as_of is None else pd.Timestamp(as_of)
    rows = labelled_rows(history, as_of)
    everything = np.ones(len(rows.late), dtype=bool)
    _require_history(rows, everything)
    index = np.arange(len(rows.late))
    bounds = np.linspace(int(len(index) * (1 - decision_share)), len(index), decision_windows + 1).astype(int)
    windows: list[dict[str, Any]] = []
    scores: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"candidate": [], "rates": [], "baseline": []}
    plans, trial_windows = [], []
    for lo, hi in itertools.pairwise(bounds):
        # The trial booster knows the outcomes settled when the window opens, not those that came in later.
        window = (index >= lo) & (index < hi)
        before = (rows.promised_date < rows.order_date[min(lo, len(index) - 1)]).to_numpy()
        if before.sum() < MIN_TRAINING_ROWS or len(np.unique(rows.late[before])) < 2 or not window.any():
            windows.append({"rows": int(window.sum()), "skipped": "too little history before it"})
            continue
        plans.append(_plan(rows, before, calibration_share, calibration))
        trial_windows.append(window)
        late = int(rows.late[window].sum())
        windows.append({"rows": int(window.sum()), "late": late, "trained_on": int(before.sum())})
    if not trial_windows:
        # Nothing to judge a booster on, so none may serve: the supplier-late-rate baseline goes on scoring.
        raise InvalidInputError(
            f"no decision window has {MIN_TRAINING_ROWS} lines settled before it with both outcomes among them "
            f"({len(index)} settled lines in all): too little history to judge a model against the baseline",
            code="insufficient_history",
        )
    # No calibration share of its own by default: the booster's log-loss probabilities around a base margin
    # that follows the current late-rate level. A map fitted on older windows (Platt's intercept) would pin the
    # level of those windows, and the real history's level moves several-fold between years.
    plans.append(_plan(rows, everything, final_calibration_share, calibration))
    rival = _rival_plan(rows, rival_as_of, final_calibration_share, calibration)
    fitted = _fit_and_calibrate(rows, plans + ([rival[1]] if rival else []), fitter)
    trials, model = fitted[: len(trial_windows)], fitted[len(trial_windows)]
    for trial, window in zip(trials, trial_windows, strict=True):
        late, features = rows.late[window], rows.features[window]
        scores["candidate"].append((late, trial.predict_candidate(features)))
        scores["rates"].append((late, rate_probability(features)))
        scores["baseline"].append((late, rows.supplier_late_rate[window]))
    holdout: dict[str, Any] = {name: window_metrics(parts) for name, parts in scores.items()}
    scorer, reason = choose_scorer(holdout)
    model.scorer, model.reason = scorer, reason
    served = {MODEL_SCORER: "candidate", RATE_SCORER: "rates"}.get(scorer, "baseline")
    holdout |= {"rows": holdout["baseline"]["rows"], "served": holdout[served], "windows": windows}
    model.metrics |= {"scorer": scorer, "reason": reason, "holdout": holdout, "labels": LABEL_RULE,
                      "as_of": as_of.date().isoformat()}  # fmt: skip
    at = np.flatnonzero(np.any(trial_windows, axis=0))  # the windows are consecutive: their lines in order
    served_at = np.concatenate([p for _, p in scores[served]])
    fitted[-1].scorer, new = scorer, rival[0] if rival else None  # the rival trial serves as the candidate would
    judged = None if new is None else RivalRows(pd.Timestamp(rival_as_of), rows.features[new].reset_index(drop=True),
                                                rows.late[new], fitted[-1].predict(rows.features[new]))  # fmt: skip
    return model, WindowRows(rows.features.iloc[at].reset_index(drop=True), rows.late[at],
                             rows.order_date.iloc[at].reset_index(drop=True), served_at, judged)  # fmt: skip


def window_metrics(parts: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    """``classification_metrics`` over the windows' lines pooled, except ``roc_auc``: the share of (late, on-time)
    pairs ranked right among pairs of the same window (``pooled_roc_auc`` keeps the pooled figure). A pair
    across windows would reward following the late-rate level between periods, which the Brier score judges."""
    labels = np.concatenate([y for y, _ in parts]) if parts else np.array([])
    metrics: dict[str, Any] = classification_metrics(labels, np.concatenate([p for _, p in parts]) if parts else labels)
    pairs = np.array([y.sum() * (len(y) - y.sum()) for y, _ in parts], dtype=float)
    aucs = [roc_auc_score(y, p) if n else 0.0 for (y, p), n in zip(parts, pairs, strict=True)]
    within = float(np.dot(pairs, aucs) / pairs.sum()) if pairs.sum() else None
    return metrics | {"pooled_roc_auc": metrics["roc_auc"], "roc_auc": None if within is None else round(within, 4),
                      "late": int(labels.sum())}  # fmt: skip


def choose_scorer(holdout: dict[str, Any]) -> tuple[str, str]:
    """The scorer that serves, and why: the booster when it beats both the baseline and its own starting point
    (the supplier x mode recent rate, ``RATE_SCORER``) in the windows; else that rate when it beats the baseline;
    else the baseline. Nothing beats the baseline on fewer than ``MIN_DECISION_LATE`` late lines."""
    if holdout["baseline"]["late"] < MIN_DECISION_LATE:
        return BASELINE_SCORER, (
            f"only {holdout['baseline']['late']} late deliveries in the validation windows (at least "
            f"{MIN_DECISION_LATE} are needed to show that the model beats the supplier-late-rate baseline), "
            "which serves instead"
        )
    booster_wins, booster_says = beats_baseline(holdout["candidate"], holdout["baseline"])
    rates_win, rates_say = beats_baseline(holdout["rates"], holdout["baseline"], name="the supplier x mode recent rate")
    over_rates, over_says = beats_baseline(
        holdout["candidate"], holdout["rates"], other="the supplier x mode recent rate"
    )
    if booster_wins and (over_rates or not rates_win):
        return MODEL_SCORER, booster_says
    if rates_win:
        return RATE_SCORER, f"{rates_say}; {over_says}" if booster_wins else f"{rates_say}; {booster_says}"
    return BASELINE_SCORER, f"{booster_says}; the supplier-late-rate baseline serves instead"


def beats_baseline(
    candidate: dict[str, Any],
    baseline: dict[str, Any],
    *,
    name: str = "the model",
    other: str = "the supplier-late-rate baseline",
) -> tuple[bool, str]:
    """Whether ``candidate`` beats ``baseline`` on ROC AUC and Brier score, and the sentence saying so."""
    auc, base_auc = candidate["roc_auc"], baseline["roc_auc"]
    brier = f"Brier {candidate['brier']:.4f} vs {baseline['brier']:.4f}"
    figures = f"holdout ROC AUC {_figure(auc)} vs {_figure(base_auc)}, {brier}"
    if auc is None or base_auc is None:
        return False, f"the holdout has one class only, so {name} cannot be shown to beat {other} ({figures})"
    if auc > base_auc and candidate["brier"] < baseline["brier"]:
        return True, f"{name} beats {other}: {figures}"
    return False, f"{name} does not beat {other}: {figures}"


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _require_history(rows: LabelledRows, mask: np.ndarray) -> None:
    if mask.sum() < MIN_TRAINING_ROWS:
        raise InvalidInputError(
            f"{int(mask.sum())} completed deliveries is too little history to train on (at least {MIN_TRAINING_ROWS})",
            code="insufficient_history",
        )


def fit_in_process(sets: Sequence[tuple[pd.DataFrame, np.ndarray]]) -> list[xgb.Booster]:
    """The ``Fitter`` used when none is given: ``fit_booster`` on each set, in this process."""
    return [fit_booster(features, labels) for features, labels in sets]


@dataclass(frozen=True)
class _FitPlan:
    fit_at: np.ndarray
    calibrate_at: np.ndarray
    calibration: Calibration | None


def _plan(rows: LabelledRows, mask: np.ndarray, calibration_share: float, calibration: Calibration | None) -> _FitPlan:
    """Which of ``mask``'s rows fit a booster and which calibrate it; refused when either lacks a class."""
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
    return _FitPlan(fit_at, calibrate_at, calibration)


def _rival_plan(
    rows: LabelledRows, as_of: pd.Timestamp | None, share: float, calibration: Calibration | None
) -> tuple[np.ndarray, _FitPlan] | None:
    """The lines promised on or after ``as_of`` and the plan fitting the lines settled as of it; None without it,
    or when those are too few to fit (the champion then is compared on the old terms, ``risk.promotion``)."""
    if as_of is None:
        return None
    known = (rows.promised_date < pd.Timestamp(as_of)).to_numpy()
    try:
        return ~known, _plan(rows, known, share, calibration)
    except InvalidInputError:
        return None


def _fit_and_calibrate(rows: LabelledRows, plans: list[_FitPlan], fitter: Fitter | None) -> list[DisruptionModel]:
    boosters = (fitter or fit_in_process)(
        [(rows.features.iloc[plan.fit_at].reset_index(drop=True), rows.late[plan.fit_at]) for plan in plans]
    )
    models = []
    for plan, booster in zip(plans, boosters, strict=True):
        at = plan.calibrate_at
        model = calibrate(booster, rows.features.iloc[at], rows.late[at], rows.delay[at], plan.calibration)
        model.metrics = {
            "training_rows": len(plan.fit_at),
            "calibration_rows": len(at),
            "calibration_method": model.calibrator.method,
            "calibration": classification_metrics(rows.late[at], model.predict_candidate(rows.features.iloc[at])),
        }
        models.append(model)
    return models


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
