"""The disruption classifier on generated history with a known signal: real xgboost fits, small data."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from common.errors import InvalidInputError
from risk.backtest import backtest
from risk.features import build_features
from risk.model import (
    Calibrator,
    DisruptionModel,
    LogisticBaseline,
    classification_metrics,
    feature_matrix,
    raw_margin,
    reliability_table,
)
from risk.pipeline import labelled_rows, train_disruption_model
from risk.synthetic import generate_history

# Reliability tolerance: every probability bin holding at least 150 held-out rows must predict within 0.08 of
# the observed rate, and the expected calibration error (10 equal-width bins) must stay below 0.05.
BIN_TOLERANCE = 0.08
ECE_TOLERANCE = 0.05


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return generate_history(lines=8000, suppliers=40, days=900, seed=5)


@pytest.fixture(scope="module")
def split(history: pd.DataFrame):
    rows = labelled_rows(history)
    cut = int(len(rows.late) * 0.75)
    model = train_disruption_model(history[history["order_date"] < rows.order_date[cut]])
    return rows, cut, model


def test_the_classifier_recovers_the_known_signal_on_held_out_orders(split):
    rows, cut, model = split
    probability = model.predict(rows.features.iloc[cut:])
    metrics = classification_metrics(rows.late[cut:], probability)
    baseline = classification_metrics(rows.late[cut:], rows.supplier_late_rate[cut:])
    assert metrics["roc_auc"] > 0.7
    assert metrics["roc_auc"] > baseline["roc_auc"]


def test_calibrated_probabilities_match_observed_rates_within_tolerance(split):
    rows, cut, model = split
    probability = model.predict(rows.features.iloc[cut:])
    assert classification_metrics(rows.late[cut:], probability)["ece"] < ECE_TOLERANCE
    for row in reliability_table(rows.late[cut:], probability):
        if row["rows"] >= 150:
            assert abs(row["predicted"] - row["observed"]) < BIN_TOLERANCE, row


def test_logistic_baseline_is_fitted_on_the_same_features(split):
    rows, cut, _ = split
    baseline = LogisticBaseline().fit(rows.features.iloc[:cut], rows.late[:cut])
    assert classification_metrics(rows.late[cut:], baseline.predict(rows.features.iloc[cut:]))["roc_auc"] > 0.6


def test_contributions_add_up_to_the_booster_margin(split):
    rows, _, model = split
    sample = rows.features.iloc[:20]
    contributions = model.booster.predict(feature_matrix(sample), pred_contribs=True).sum(axis=1)
    assert np.allclose(contributions, raw_margin(model.booster, sample), atol=1e-4)
    explained = model.explain(sample, top=3)
    assert all(1 <= len(e) <= 3 for e in explained)
    assert all(abs(e[0]["contribution"]) >= abs(e[-1]["contribution"]) for e in explained)


def test_a_model_survives_the_round_trip_through_the_registry_bytes(split):
    rows, _, model = split
    again = DisruptionModel.from_bytes(model.to_bytes())
    assert np.allclose(again.predict(rows.features.iloc[:50]), model.predict(rows.features.iloc[:50]))


def test_supplier_features_only_use_deliveries_completed_before_the_order():
    history = pd.DataFrame(
        {
            "supplier_id": ["A", "A", "A"],
            "order_date": pd.to_datetime(["2025-01-01", "2025-01-05", "2025-03-01"]),
            "promised_date": pd.to_datetime(["2025-01-10", "2025-01-15", "2025-03-10"]),
            "delivered_date": pd.to_datetime(["2025-02-20", "2025-01-15", "2025-03-10"]),
            "quantity": [1.0, 1.0, 1.0],
            "value": [10.0, 10.0, 10.0],
            "shipment_mode": ["road"] * 3,
            "country_risk": [10.0] * 3,
            "distance_km": [100.0] * 3,
        }
    )
    features = build_features(history)
    # The first order sees nothing; the second was placed before any delivery; the third sees both.
    assert list(np.expm1(features["supplier_history_log"]).round()) == [0, 0, 2]
    assert features["supplier_late_rate"].iloc[2] > features["supplier_late_rate"].iloc[0]


def test_backtest_reports_metrics_on_orders_after_the_cutoff(history):
    result = backtest(history, date(2025, 3, 1))
    assert result["model"]["rows"] > 900
    assert {"roc_auc", "pr_auc", "brier", "ece"} <= set(result["model"])
    assert result["model"]["roc_auc"] > 0.65


def test_backtest_without_history_before_the_cutoff_is_refused(history):
    with pytest.raises(InvalidInputError, match="too little history"):
        backtest(history, date(2023, 1, 5))


def test_features_of_a_line_ignore_outcomes_not_yet_known_on_its_order_date():
    day = pd.Timestamp("2025-01-01")
    past = {"supplier_id": "S", "category": "A", "shipment_mode": "air", "quantity": 1.0, "value": 1.0}
    d = pd.Timedelta
    history = pd.DataFrame([
        {**past, "order_date": day, "promised_date": day + d(days=10), "delivered_date": day + d(days=9)},
        # promised after the target's order date: its outcome (late or not) is unknown then
        {**past, "order_date": day, "promised_date": day + d(days=40), "delivered_date": day + d(days=60)},
        {**past, "order_date": day + pd.Timedelta(days=30), "promised_date": day + pd.Timedelta(days=50),
         "delivered_date": pd.NaT},
    ])  # fmt: skip
    on_time = history.copy()
    on_time.loc[1, "delivered_date"] = day + pd.Timedelta(days=39)
    target = history.iloc[[2]].assign(as_of=history["order_date"].iloc[[2]])
    assert build_features(history, target).equals(build_features(on_time, target))
    # ... but an overdue line counts as late from the day after its promise, delivered or not
    later = target.assign(as_of=day + pd.Timedelta(days=45))
    assert (
        build_features(history, later)["supplier_recent_late_rate"].iloc[0]
        > (build_features(on_time, later)["supplier_recent_late_rate"].iloc[0])
    )


def test_a_higher_recent_supplier_mode_late_rate_never_lowers_the_probability(split):
    rows, _, model = split
    sample = rows.features.iloc[:200].copy()
    riskier = sample.assign(supplier_mode_fast_late_rate=np.clip(sample["supplier_mode_fast_late_rate"] * 2, 0, 0.99))
    assert (raw_margin(model.booster, riskier) >= raw_margin(model.booster, sample) - 1e-9).all()
    assert (raw_margin(model.booster, riskier) > raw_margin(model.booster, sample)).mean() > 0.9


def test_the_shrink_calibration_learns_how_far_to_trust_a_line_s_distance_from_the_current_level():
    rng = np.random.default_rng(3)
    reference = rng.normal(-1.5, 1.0, 20_000)  # the level moves between lines (a drifting base rate)
    distance = rng.normal(0.0, 1.5, 20_000)
    labels = (rng.random(20_000) < 1 / (1 + np.exp(-(reference + 0.5 * distance)))).astype(float)
    fitted = Calibrator.fit(reference + distance, labels, "shrink", reference)
    assert fitted.a == pytest.approx(0.5, abs=0.1)
    assert np.allclose(Calibrator("shrink", a=0.0).apply(reference + distance, reference), 1 / (1 + np.exp(-reference)))


def test_money_in_another_currency_than_the_historys_gives_no_value_or_price_feature():
    # Before, 9,000 JPY read as an order a hundred times larger than 90 EUR ones.
    day = pd.Timestamp("2025-01-01")
    line = {"supplier_id": "S", "category": "A", "shipment_mode": "air", "quantity": 10.0, "order_date": day,
            "promised_date": day + pd.Timedelta(days=10), "delivered_date": day + pd.Timedelta(days=9)}  # fmt: skip
    history = pd.DataFrame(
        [{**line, "value": 90.0, "currency": "EUR"}] * 2 + [{**line, "value": 9000.0, "currency": "JPY"}]
    )
    features = build_features(history)
    assert features["unit_price_log"].iloc[0] == pytest.approx(np.log1p(9.0))
    assert np.isnan(features["unit_price_log"].iloc[2]) and features["order_value_log"].iloc[2] == 0
    unlabelled = build_features(history.drop(columns="currency"))  # no currencies: every line comparable
    assert unlabelled["order_value_log"].iloc[2] == pytest.approx(np.log1p(9000.0))


def test_a_late_lines_delay_is_unknown_until_it_is_delivered():
    # Before, a late line's whole delay counted from the day after its promise: an order placed while it was still
    # overdue saw how late it would arrive months later.
    day, d = pd.Timestamp("2024-01-01"), pd.Timedelta
    past = {"supplier_id": "S", "category": "A", "shipment_mode": "road", "quantity": 1.0, "value": 1.0}
    history = pd.DataFrame([
        {**past, "order_date": day, "promised_date": day + d(days=31), "delivered_date": day + d(days=152)},
        {**past, "order_date": day + d(days=60), "promised_date": day + d(days=91), "delivered_date": day + d(days=91)},
    ])  # fmt: skip
    sooner = history.copy()
    sooner.loc[0, "delivered_date"] = day + d(days=64)
    target = history.iloc[[1]].assign(as_of=history["order_date"].iloc[[1]])
    assert build_features(history, target).equals(build_features(sooner, target))
