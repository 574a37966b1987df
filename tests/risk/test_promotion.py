"""Baseline-aware promotion: the booster serves only when it beats the supplier-late-rate baseline on the
training run's rolling-origin validation windows (pooled, with enough late lines); otherwise the baseline serves
and the model says why."""

from __future__ import annotations

import numpy as np

from risk.features import build_features
from risk.model import (
    BASELINE_SCORER,
    MODEL_SCORER,
    OFFSET_FEATURE,
    RATE_SCORER,
    DisruptionModel,
    baseline_probability,
    rate_probability,
)
from risk.pipeline import beats_baseline, choose_scorer, train_disruption_model, window_metrics
from risk.synthetic import generate_history
from tests.support.deliveries import road_history


def test_the_candidate_must_beat_the_baseline_on_both_roc_auc_and_brier():
    baseline = {"roc_auc": 0.70, "brier": 0.15}
    assert beats_baseline({"roc_auc": 0.75, "brier": 0.14}, baseline)[0]
    assert not beats_baseline({"roc_auc": 0.75, "brier": 0.16}, baseline)[0]
    assert not beats_baseline({"roc_auc": 0.69, "brier": 0.10}, baseline)[0]
    won, reason = beats_baseline({"roc_auc": None, "brier": 0.1}, {"roc_auc": None, "brier": 0.1})
    assert not won and "one class" in reason


def test_a_booster_with_nothing_to_learn_beyond_the_supplier_rate_leaves_the_baseline_serving():
    # Lateness depends on the supplier only (a fixed rate each): no feature can add to the supplier's rate.
    history = road_history(seed=0, lines=3000, suppliers=20, late=lambda draw, supplier: draw < 0.05 + 0.02 * supplier)
    model = train_disruption_model(history)
    features = build_features(history)
    if model.scorer == BASELINE_SCORER:
        assert "does not beat" in model.reason
        assert np.array_equal(model.predict(features), baseline_probability(features))
    else:  # it may win by chance on one holdout; then its figures must show it
        assert "beats" in model.reason
    assert {"candidate", "baseline"} <= set(model.metrics["holdout"])
    again = DisruptionModel.from_bytes(model.to_bytes())
    assert (again.scorer, again.reason) == (model.scorer, model.reason)


def test_a_booster_that_learns_a_real_signal_serves_and_records_its_holdout_win():
    model = train_disruption_model(generate_history(lines=6000, suppliers=40, days=900, seed=2))
    assert model.scorer == MODEL_SCORER, model.reason
    holdout = model.metrics["holdout"]
    assert holdout["candidate"]["roc_auc"] > holdout["baseline"]["roc_auc"]
    assert holdout["candidate"]["brier"] < holdout["baseline"]["brier"]


def test_too_few_late_lines_in_the_validation_windows_leave_the_baseline_serving():
    # Lateness only in the oldest period: the validation windows (newest 30% of lines) hold almost none.
    history = road_history(
        seed=1, lines=2000, suppliers=10, late=lambda draw, _: (draw < 0.2) & (np.arange(len(draw)) < len(draw) // 2)
    )
    model = train_disruption_model(history)
    assert model.scorer == BASELINE_SCORER
    assert "only 0 late deliveries in the validation windows" in model.reason
    assert [w["rows"] for w in model.metrics["holdout"]["windows"]] == [200, 200, 200]


def test_the_windows_roc_auc_counts_only_pairs_of_lines_from_the_same_window():
    # Each window ranked perfectly, the second at a lower level although lateness rose: pooled, pairs across
    # the windows are ranked wrong; within each window, none is.
    first = (np.array([0.0, 0.0, 1.0]), np.array([0.3, 0.4, 0.5]))
    second = (np.array([0.0, 1.0, 1.0]), np.array([0.1, 0.2, 0.25]))
    metrics = window_metrics([first, second])
    assert metrics["roc_auc"] == 1.0
    assert metrics["pooled_roc_auc"] < 1.0


def holdout(candidate: tuple[float, float], rates: tuple[float, float]) -> dict[str, dict[str, float]]:
    """Window figures (ROC AUC, Brier) of the booster and its starting rate against a fixed baseline."""
    figures = {"candidate": candidate, "rates": rates, "baseline": (0.60, 0.15)}
    return {name: {"roc_auc": auc, "brier": brier, "late": 50} for name, (auc, brier) in figures.items()}


def test_the_starting_rate_serves_when_it_beats_the_baseline_and_the_booster_does_not_beat_it():
    scorer, reason = choose_scorer(holdout(candidate=(0.62, 0.148), rates=(0.65, 0.14)))
    assert scorer == RATE_SCORER
    assert "the supplier x mode recent rate beats the supplier-late-rate baseline" in reason


def test_the_booster_serves_when_it_beats_both_the_baseline_and_its_starting_rate():
    scorer, _ = choose_scorer(holdout(candidate=(0.70, 0.13), rates=(0.65, 0.14)))
    assert scorer == MODEL_SCORER


def test_a_model_served_by_its_starting_rate_scores_and_explains_each_line_with_that_rate():
    history = generate_history(lines=1500, suppliers=20, days=400, seed=7)
    model = train_disruption_model(history)
    model.scorer = RATE_SCORER
    again = DisruptionModel.from_bytes(model.to_bytes())
    features = build_features(history).iloc[-50:]
    assert np.array_equal(again.predict(features), rate_probability(features))
    assert {e[0]["feature"] for e in again.explain(features)} == {OFFSET_FEATURE}
