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
from typing import Any, Unpack

import numpy as np
import pandas as pd
import xgboost as xgb

from common.errors import InvalidInputError
from risk.features import build_features, delivery_outcomes
from risk.judging import Fitter, RivalRows, TrainOptions, WindowRows
from risk.model import (
    MODEL_SCORER,
    RATE_SCORER,
    Calibration,
    DisruptionModel,
    calibrate,
    classification_metrics,
    fit_booster,
    rate_probability,
)
from risk.scorer_choice import choose_scorer, window_metrics

MIN_TRAINING_ROWS = 60
DECISION_SHARE = 0.3  # newest share of the lines on which the booster and the baseline are compared
DECISION_WINDOWS = 3  # consecutive validation windows in that share, each scored by a booster fitted before it


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


def ordered_within(history: pd.DataFrame, as_of: pd.Timestamp, days: int | None) -> pd.DataFrame:
    """The lines of ``history`` ordered in the ``days`` before ``as_of`` or later (all of them with None)."""
    return history if days is None else history[history["order_date"] >= as_of - pd.Timedelta(days=days)]


def settled_as_of(history: pd.DataFrame) -> pd.Timestamp:
    """The day after the newest delivery in ``history``: the default day its outcomes are known as of."""
    newest = history["delivered_date"].max()
    return (history["order_date"].max() if pd.isna(newest) else newest) + pd.Timedelta(days=1)


# Each line's receiving warehouse's date at the champion's training run (``train_judged``'s ``rival_as_of``).
RIVAL_DOCK_TODAY = "rival_dock_today"


def settle_days(history: pd.DataFrame, as_of: pd.Timestamp, column: str = "dock_today") -> pd.Series | pd.Timestamp:
    """The day each line's outcome is settled as of: its receiving warehouse's date in ``column`` where known."""
    return history[column].fillna(as_of) if column in history else as_of


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
    settles = settle_days(history, as_of)
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
    history_days: int | None = None,
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
    champion's as-of day), the same is done in that call on the lines settled as of that day, each on the
    champion's calendar (``RIVAL_DOCK_TODAY``), windows and scorer choice included, and its scorer scores the
    lines promised since (``RivalRows``): the champion's information, none of the compared lines' outcomes.
    With ``history_days`` each learns from the lines ordered in that many days before its own as-of day
    (``ordered_within``); ``history`` then reaches back that far before the earlier day.
    """
    as_of = settled_as_of(history) if as_of is None else pd.Timestamp(as_of)
    own = ordered_within(history, as_of, history_days)
    rows = labelled_rows(own, as_of)
    everything = np.ones(len(rows.late), dtype=bool)
    _require_history(rows, everything)
    decision = _decision(rows, decision_share, decision_windows, calibration_share, calibration)
    if not decision.windows:
        # Nothing to judge a booster on, so none may serve: the supplier-late-rate baseline goes on scoring.
        raise InvalidInputError(
            f"no decision window has {MIN_TRAINING_ROWS} lines settled before it with both outcomes among them "
            f"({len(rows.late)} settled lines in all): too little history to judge a model against the baseline",
            code="insufficient_history",
        )
    # No calibration share of its own by default: the booster's log-loss probabilities around a base margin
    # that follows the current late-rate level. A map fitted on older windows (Platt's intercept) would pin the
    # level of those windows, and the real history's level moves several-fold between years.
    sets = [(rows, plan) for plan in (*decision.plans, _plan(rows, everything, final_calibration_share, calibration))]
    rival = None
    if rival_as_of is not None:
        # The champion learnt from its own window, which a candidate of a later day would cut short: older lines and
        # the all-time supplier figures over them.
        known = ordered_within(history, pd.Timestamp(rival_as_of), history_days)
        windows = (decision_share, decision_windows, calibration_share)
        rival = _rival(own, known, as_of, pd.Timestamp(rival_as_of), windows, final_calibration_share, calibration)
    fitted = _fit_and_calibrate(sets + (rival.sets if rival else []), fitter)
    model = fitted[len(decision.plans)]
    scorer, reason, holdout, served_at = _chosen(rows, decision, fitted[: len(decision.plans)])
    model.scorer, model.reason = scorer, reason
    model.metrics |= {"scorer": scorer, "reason": reason, "holdout": holdout, "labels": LABEL_RULE,
                      "as_of": as_of.date().isoformat()}  # fmt: skip
    at = np.flatnonzero(np.any(decision.windows, axis=0))  # the windows are consecutive: their lines in order
    judged = None
    if rival is not None:  # its scorer chosen as the candidate's is, on its own windows: the champion's information
        trial, new = fitted[-1], rival.compared
        trial.scorer = _chosen(rival.rows, rival.decision, fitted[len(sets) : -1])[0]
        judged = RivalRows(rival.as_of, rows.features[new].reset_index(drop=True), rows.late[new],
                           trial.predict(rows.features[new]))  # fmt: skip
    return model, WindowRows(rows.features.iloc[at].reset_index(drop=True), rows.late[at],
                             rows.order_date.iloc[at].reset_index(drop=True), served_at, judged)  # fmt: skip


@dataclass(frozen=True)
class _Decision:
    plans: list[_FitPlan]  # one trial booster per window that had history enough before it
    windows: list[np.ndarray]  # the lines each trial scores
    described: list[dict[str, Any]]  # every window, skipped or not (the holdout's ``windows``)


def _decision(
    rows: LabelledRows, share: float, count: int, calibration_share: float, calibration: Calibration | None
) -> _Decision:
    """The newest ``share`` of ``rows`` cut into ``count`` windows, each with the plan of a booster fitted on the
    lines settled when it opens (``train_judged``)."""
    index = np.arange(len(rows.late))
    bounds = np.linspace(int(len(index) * (1 - share)), len(index), count + 1).astype(int)
    decision = _Decision([], [], [])
    for lo, hi in itertools.pairwise(bounds):
        # The trial booster knows the outcomes settled when the window opens, not those that came in later.
        window = (index >= lo) & (index < hi)
        before = (rows.promised_date < rows.order_date[min(lo, len(index) - 1)]).to_numpy()
        if before.sum() < MIN_TRAINING_ROWS or len(np.unique(rows.late[before])) < 2 or not window.any():
            decision.described.append({"rows": int(window.sum()), "skipped": "too little history before it"})
            continue
        decision.plans.append(_plan(rows, before, calibration_share, calibration))
        decision.windows.append(window)
        late = int(rows.late[window].sum())
        decision.described.append({"rows": int(window.sum()), "late": late, "trained_on": int(before.sum())})
    return decision


def _chosen(
    rows: LabelledRows, decision: _Decision, trials: list[DisruptionModel]
) -> tuple[str, str, dict[str, Any], np.ndarray]:
    """The scorer ``choose_scorer`` serves on ``decision``'s windows (scored by ``trials``), why, the holdout
    figures and the served scorer's window probabilities."""
    scores: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"candidate": [], "rates": [], "baseline": []}
    for trial, window in zip(trials, decision.windows, strict=True):
        late, features = rows.late[window], rows.features[window]
        scores["candidate"].append((late, trial.predict_candidate(features)))
        scores["rates"].append((late, rate_probability(features)))
        scores["baseline"].append((late, rows.supplier_late_rate[window]))
    holdout: dict[str, Any] = {name: window_metrics(parts) for name, parts in scores.items()}
    scorer, reason = choose_scorer(holdout)
    served = {MODEL_SCORER: "candidate", RATE_SCORER: "rates"}.get(scorer, "baseline")
    holdout |= {"rows": holdout["baseline"]["rows"], "served": holdout[served], "windows": decision.described}
    return scorer, reason, holdout, np.concatenate([p for _, p in scores[served]])


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


@dataclass(frozen=True)
class _Rival:
    """The candidate's procedure on the champion's information: ``rows`` settled as of the champion's day ``as_of``
    on its calendar, its ``decision`` windows and final plan, and which of the candidate's lines it is compared
    on (``compared``: those promised on or after the day each settled on for the champion)."""

    as_of: pd.Timestamp
    rows: LabelledRows
    decision: _Decision
    final: _FitPlan
    compared: np.ndarray

    @property
    def sets(self) -> list[tuple[LabelledRows, _FitPlan]]:
        return [(self.rows, plan) for plan in (*self.decision.plans, self.final)]


def _rival(
    history: pd.DataFrame,
    champions: pd.DataFrame,
    as_of: pd.Timestamp,
    rival_as_of: pd.Timestamp,
    windows: tuple[float, int, float],
    share: float,
    calibration: Calibration | None,
) -> _Rival | None:
    """The rival for the champion trained as of ``rival_as_of`` on the lines ``champions`` (the candidate's:
    ``history``); None when what was settled then is too little to choose and fit a scorer on (the champion then
    is compared on the old terms, ``risk.promotion``).

    Each line settles on the champion's calendar (``RIVAL_DOCK_TODAY``: its receiving warehouse's date at the
    champion's run; ``rival_as_of`` where none): a UTC day would show it the lines due that evening in the
    Americas, which the champion did not know yet."""
    champion_view = champions.drop(columns=["dock_today", RIVAL_DOCK_TODAY], errors="ignore")
    if RIVAL_DOCK_TODAY in champions:
        champion_view = champion_view.assign(dock_today=champions[RIVAL_DOCK_TODAY])
    known = labelled_rows(champion_view, rival_as_of)
    try:
        final = _plan(known, np.ones(len(known.late), dtype=bool), share, calibration)
        decision = _decision(known, windows[0], windows[1], windows[2], calibration)
    except InvalidInputError:
        return None
    if not decision.windows:
        return None
    ordered = chronological(history)  # ``labelled_rows``' order, so the masks line up with the candidate's rows
    promised = ordered["promised_date"]
    done = promised < settle_days(ordered, as_of)
    compared = (promised >= settle_days(ordered, rival_as_of, RIVAL_DOCK_TODAY))[done].to_numpy()
    return _Rival(rival_as_of, known, decision, final, compared)


def _fit_and_calibrate(sets: list[tuple[LabelledRows, _FitPlan]], fitter: Fitter | None) -> list[DisruptionModel]:
    boosters = (fitter or fit_in_process)(
        [(rows.features.iloc[plan.fit_at].reset_index(drop=True), rows.late[plan.fit_at]) for rows, plan in sets]
    )
    models = []
    for (rows, plan), booster in zip(sets, boosters, strict=True):
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
