"""Which scorer serves, judged on the decision windows (``risk.pipeline.train_judged``): the booster, its starting
rate alone, or the supplier-late-rate baseline."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from risk.model import BASELINE_SCORER, MODEL_SCORER, RATE_SCORER, classification_metrics

MIN_DECISION_LATE = 20  # late lines the windows must hold before a win over the baseline counts


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
