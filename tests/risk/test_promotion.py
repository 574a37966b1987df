"""Baseline-aware promotion: the booster serves only when it beats the supplier-late-rate baseline on the
training run's rolling-origin validation windows (pooled, with enough late lines); otherwise the baseline serves
and the model says why."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd

from risk.early_warning import tenant_identities, train_tenant
from risk.features import build_features
from risk.model import (
    BASELINE_SCORER,
    MODEL_SCORER,
    OFFSET_FEATURE,
    RATE_SCORER,
    DisruptionModel,
    baseline_probability,
    fit_booster,
    rate_probability,
)
from risk.pipeline import beats_baseline, choose_scorer, fit_in_process, train_disruption_model, window_metrics
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


# Promotion against the champion: on the same lines, out of sample for both (risk.promotion).

CUT = pd.Timestamp(date(2023, 1, 1) + timedelta(days=700))  # the champion's training day
END = CUT + timedelta(days=13)  # the candidate's newest order: within the registry's MAX_CHAMPION_AGE of CUT


def two_periods(*, easy_start: bool) -> pd.DataFrame:
    """Generated lines ordered up to ``END``; with ``easy_start``, nearly every line ordered before ``CUT`` arrives
    on time (a year of few late deliveries), and the next two weeks' lines are as late as generated."""
    history = generate_history(lines=15000, suppliers=40, days=900, seed=2)
    history = history[history["order_date"] <= END].copy()
    if easy_start:
        late = (history["order_date"] < CUT) & (history["delivered_date"] > history["promised_date"])
        on_time = late & (np.random.default_rng(0).random(len(history)) < 0.93)
        history.loc[on_time, "delivered_date"] = history.loc[on_time, "promised_date"]
    return history


async def load(world, history: pd.DataFrame, suppliers: dict[str, uuid.UUID]) -> None:
    for code, country in history.groupby("supplier_id")["origin_country"].first().items():
        if code not in suppliers:
            suppliers[code] = await world.supplier(code, country)
    rows = [
        (world.tenant.id, suppliers[r.supplier_id], r.shipment_mode, r.order_date.date(), r.promised_date.date(),
         r.delivered_date.date(), Decimal(str(r.quantity)), Decimal(str(r.value)), f"g{r.Index}")
        for r in history.itertuples()
    ]  # fmt: skip
    async with world.pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO app.supplier_deliveries (tenant_id, supplier_id, shipment_mode, order_date, promised_date, "
            "delivered_date, quantity, value, import_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            rows,
        )


async def champion_then_candidate(world, owner_pool, history: pd.DataFrame, candidate_fitter=fit_in_process):
    """The champion trained on ``CUT`` on the lines ordered before it, then a candidate on all of them (its data
    ending 13 days after the champion's)."""
    async with owner_pool.acquire() as owner:
        (who,) = await tenant_identities(owner, [world.tenant.id])
    suppliers: dict[str, uuid.UUID] = {}
    await load(world, history[history["order_date"] < CUT], suppliers)
    champion = await train_tenant(world.database, who, fit_in_process, CUT.date())
    await load(world, history[history["order_date"] >= CUT], suppliers)
    # Trained when the lines of those two weeks have settled.
    candidate = await train_tenant(world.database, who, candidate_fitter, END.date() + timedelta(days=60), force=True)
    return champion, candidate


def brier(outcome: dict) -> float:
    return outcome["metrics"]["holdout"]["served"]["brier"]


def same_lines_figures(reason: str) -> tuple[float, float]:
    """The candidate's and champion's Brier on the same lines, as the promotion reason states them."""
    same = re.search(
        r"Brier (\d\.\d{4}) vs champion v1's (\d\.\d{4}) on the same \d+ lines \(\d+ late\) ordered after "
        r"champion v1's data ended \(\d{4}-\d{2}-\d{2}\), out of sample for both",
        reason,
    )
    assert same, reason
    return float(same[1]), float(same[2])


async def test_a_candidate_of_a_harder_later_period_that_beats_the_champion_on_the_same_newer_lines_is_promoted(
    world, owner_pool
):
    champion, candidate = await champion_then_candidate(world, owner_pool, two_periods(easy_start=True))
    assert champion["promoted"] and candidate["trained"]
    # Each on its own windows the champion looks better (an easy period); before, that kept it serving.
    assert brier(champion) < brier(candidate)
    assert candidate["promoted"], candidate["reason"]
    ours, theirs = same_lines_figures(candidate["reason"])
    assert ours < theirs
    assert "the champion is not better, so the fresher candidate serves" in candidate["reason"]


async def test_a_champion_that_beats_the_candidate_on_the_same_newer_lines_keeps_serving(world, owner_pool):
    rng = np.random.default_rng(0)

    def blind(sets):  # boosters fitted on shuffled outcomes: nothing learned, the baseline serves
        return [fit_booster(features, rng.permutation(labels)) for features, labels in sets]

    champion, candidate = await champion_then_candidate(world, owner_pool, two_periods(easy_start=False), blind)
    assert champion["promoted"] and candidate["trained"]
    assert not candidate["promoted"]
    ours, theirs = same_lines_figures(candidate["reason"])
    assert theirs < ours
    assert "the champion is better and keeps serving" in candidate["reason"]
    async with owner_pool.acquire() as conn:
        serving = await conn.fetchval(
            "SELECT version FROM app.forecast_runs WHERE tenant_id = $1 AND model_name = 'risk-disruption' "
            "AND status = 'champion'",
            world.tenant.id,
        )
    assert serving == 1
