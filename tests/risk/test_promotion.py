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
from risk.pipeline import fit_in_process, train_disruption_model
from risk.scorer_choice import beats_baseline, choose_scorer, window_metrics
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

CUT = pd.Timestamp(date(2023, 1, 1) + timedelta(days=700))  # the champion's training (as-of) day
HISTORY = generate_history(lines=15000, suppliers=40, days=900, seed=2)


def blind(sets):  # boosters fitted on shuffled outcomes: nothing learned, the baseline serves
    rng = np.random.default_rng(0)
    return [fit_booster(features, rng.permutation(labels)) for features, labels in sets]


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


async def champion_then_candidate(
    world, owner_pool, champion_fitter, candidate_fitter, *, days: int = 10, stored_before_as_of: bool = False
):
    """The champion trained on ``CUT`` on the lines ordered before it (``stored_before_as_of``: its as-of day
    left out of its metrics, as runs stored before 2026-12-07 have it), then, as the nightly job retrains, a
    candidate ``days`` later on the lines ordered by then (each settled as of its own training day)."""
    async with owner_pool.acquire() as owner:
        (who,) = await tenant_identities(owner, [world.tenant.id])
    suppliers: dict[str, uuid.UUID] = {}
    await load(world, HISTORY[HISTORY["order_date"] < CUT], suppliers)
    champion = await train_tenant(world.database, who, champion_fitter, CUT.date())
    if stored_before_as_of:
        async with owner_pool.acquire() as conn:
            forget = "UPDATE app.forecast_runs SET metrics = metrics - 'as_of' WHERE id = $1"
            await conn.execute(forget, champion["run_id"])
    day = CUT + timedelta(days=days)
    await load(world, HISTORY[(HISTORY["order_date"] >= CUT) & (HISTORY["order_date"] < day)], suppliers)
    candidate = await train_tenant(world.database, who, candidate_fitter, day.date(), force=True)
    assert champion["promoted"] and candidate["trained"], (champion, candidate)
    return champion, candidate


def same_lines_figures(reason: str) -> tuple[float, float, int, int]:
    """The candidate's and champion's Brier on the same lines, and how many lines (and late ones), as stated."""
    same = re.search(
        r"Brier (\d\.\d{4}) \(the candidate's scorer chosen and fitted on what was settled on that day\) "
        r"vs champion v1's "
        r"(\d\.\d{4}) on the same (\d+) lines \((\d+) late\) promised since champion v1's as-of day "
        + CUT.strftime("%Y-%m-%d")
        + ", out of sample for both",
        reason,
    )
    assert same, reason
    return float(same[1]), float(same[2]), int(same[3]), int(same[4])


async def serving_version(owner_pool, world) -> int:
    async with owner_pool.acquire() as conn:
        return await conn.fetchval(
            "SELECT version FROM app.forecast_runs WHERE tenant_id = $1 AND model_name = 'risk-disruption' "
            "AND status = 'champion'",
            world.tenant.id,
        )


async def test_a_weekly_candidate_whose_scorer_beats_the_champion_on_the_lines_promised_since_is_promoted(
    world, owner_pool
):
    champion, candidate = await champion_then_candidate(world, owner_pool, blind, fit_in_process)
    assert champion["metrics"]["as_of"] == CUT.date().isoformat()
    assert candidate["promoted"], candidate["reason"]
    ours, theirs, lines, late = same_lines_figures(candidate["reason"])
    assert late >= 20 and lines > late
    assert ours < theirs
    assert "the champion is not better, so the fresher candidate serves" in candidate["reason"]
    assert await serving_version(owner_pool, world) == 2


async def test_a_champion_that_beats_the_weekly_candidates_scorer_on_the_lines_promised_since_keeps_serving(
    world, owner_pool
):
    _, candidate = await champion_then_candidate(world, owner_pool, fit_in_process, blind)
    assert not candidate["promoted"], candidate["reason"]
    ours, theirs, _, late = same_lines_figures(candidate["reason"])
    assert late >= 20
    assert theirs < ours
    assert "the champion is better and keeps serving" in candidate["reason"]
    assert await serving_version(owner_pool, world) == 1


async def test_with_too_few_late_lines_promised_since_the_champion_the_fresher_candidate_serves(world, owner_pool):
    _, candidate = await champion_then_candidate(world, owner_pool, fit_in_process, blind, days=1)
    assert candidate["promoted"], candidate["reason"]
    _, _, _, late = same_lines_figures(candidate["reason"])
    assert late < 20
    assert (
        "too few late lines to compare (at least 20 are needed), so the fresher candidate serves"
        in (candidate["reason"])
    )


async def test_a_champion_stored_without_its_as_of_day_is_compared_on_the_window_lines_ordered_after_its_data(
    world, owner_pool
):
    _, candidate = await champion_then_candidate(world, owner_pool, fit_in_process, blind, stored_before_as_of=True)
    assert "ordered after champion v1's data ended" in candidate["reason"], candidate["reason"]
    assert "as-of day" not in candidate["reason"]
