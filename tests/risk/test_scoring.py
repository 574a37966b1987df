"""Score components on hand-built suppliers: each factor moves its component the way a buyer expects."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from common.errors import InvalidInputError
from risk.scoring import (
    DEFAULT_WEIGHTS,
    PRIOR_DEFECT,
    PRIOR_FILL,
    Audit,
    Certification,
    DeliveryStats,
    SupplierFacts,
    assess,
    operational_factors,
    validate_weights,
)

TODAY = date(2026, 6, 1)


def score(facts: SupplierFacts, weights: dict[str, float] = DEFAULT_WEIGHTS) -> dict:
    return assess(facts, weights, TODAY)


def history(on_time: int, deliveries: int = 50, **kwargs: float) -> DeliveryStats:
    defaults = {"lead_mean": 10.0, "lead_std": 1.0, "fill_mean": 1.0, "defect_mean": 0.0}
    lines = {"fill_lines": deliveries, "defect_lines": deliveries}
    return DeliveryStats(deliveries=deliveries, on_time=on_time, **lines, **{**defaults, **kwargs})  # type: ignore[arg-type]


def test_always_late_scores_worse_operationally_than_always_on_time():
    late = score(SupplierFacts(deliveries=history(on_time=0)))
    punctual = score(SupplierFacts(deliveries=history(on_time=50)))
    assert late["components"]["operational"] > punctual["components"]["operational"] + 30


def test_erratic_lead_times_short_deliveries_and_defects_each_raise_the_operational_score():
    base = score(SupplierFacts(deliveries=history(on_time=45)))["components"]["operational"]
    for changed in (
        history(on_time=45, lead_std=6.0),
        history(on_time=45, fill_mean=0.8),
        history(on_time=45, defect_mean=0.03),
    ):
        assert score(SupplierFacts(deliveries=changed))["components"]["operational"] > base


def test_same_day_deliveries_have_their_lead_time_variation_measured_not_the_prior():
    # Before, a mean lead time of 0 days read as no measurement: the CV took the 0.2 prior (observed rate None).
    factors = {f.name: f for f in operational_factors(history(on_time=50, lead_mean=0.0, lead_std=0.0))}
    assert factors["lead_time_cv"].value < 0.05
    assert factors["lead_time_cv"].observed == {"deliveries": 50, "rate": 0.0}


def test_few_deliveries_are_shrunk_towards_the_prior():
    two_late = score(SupplierFacts(deliveries=history(on_time=0, deliveries=2)))
    fifty_late = score(SupplierFacts(deliveries=history(on_time=0, deliveries=50)))
    assert two_late["components"]["operational"] < fifty_late["components"]["operational"]
    assert two_late["confidence"] == "low"


def test_fill_and_defect_rates_are_means_of_the_lines_shrunk_by_their_count():
    stats = DeliveryStats(deliveries=10, on_time=10, fill_lines=10, fill_mean=0.55, defect_lines=9, defect_mean=0.2)
    factors = {f.name: f for f in operational_factors(stats)}
    assert (factors["fill_rate"].value, factors["fill_rate"].observed) == (
        round((0.55 * 10 + 5 * PRIOR_FILL) / 15, 4),
        {"deliveries": 10, "rate": 0.55},
    )
    assert (factors["defect_rate"].value, factors["defect_rate"].observed) == (
        round((0.2 * 9 + 5 * PRIOR_DEFECT) / 14, 4),
        {"deliveries": 10, "rate": 0.2},
    )


def test_no_history_is_a_low_confidence_prior_score():
    result = score(SupplierFacts())
    assert result["confidence"] == "low" and result["deliveries"] == 0
    assert 0 <= result["overall"] <= 100


def test_a_worse_credit_rating_and_falling_revenue_raise_the_financial_score():
    strong = score(SupplierFacts(credit_rating="AA", days_payable=40, revenue_trend_pct=5))
    weak = score(SupplierFacts(credit_rating="B", days_payable=40, revenue_trend_pct=5))
    shrinking = score(SupplierFacts(credit_rating="AA", days_payable=40, revenue_trend_pct=-20))
    slow_payer = score(SupplierFacts(credit_rating="AA", days_payable=120, revenue_trend_pct=5))
    for worse in (weak, shrinking, slow_payer):
        assert worse["components"]["financial"] > strong["components"]["financial"]


def test_country_risk_distance_and_concentration_raise_the_geographical_score():
    near = score(SupplierFacts(country_risk=10, distance_km=300, spend_share=0.05, single_sourced_share=0.0))
    for worse in (
        SupplierFacts(country_risk=70, distance_km=300, spend_share=0.05, single_sourced_share=0.0),
        SupplierFacts(country_risk=10, distance_km=9000, spend_share=0.05, single_sourced_share=0.0),
        SupplierFacts(country_risk=10, distance_km=300, spend_share=0.45, single_sourced_share=1.0),
    ):
        assert score(worse)["components"]["geographical"] > near["components"]["geographical"]


def test_a_single_sourced_share_without_data_scores_unknown_and_is_listed_as_missing():
    # Before, no purchases naming a product scored 0, the lowest risk, and missing_data did not list it.
    assessed = score(SupplierFacts(country_risk=10, distance_km=300, spend_share=0.05))
    assert "geographical.single_sourced_share" in assessed["missing_data"]


def test_expired_certificates_and_failed_audits_raise_the_compliance_score():
    audit = Audit(TODAY - timedelta(days=30), 92, "pass", TODAY + timedelta(days=300))
    valid = SupplierFacts(certifications=(Certification("ISO 9001", TODAY + timedelta(days=300)),), audits=(audit,))
    expiring = SupplierFacts(certifications=(Certification("ISO 9001", TODAY + timedelta(days=20)),), audits=(audit,))
    expired = SupplierFacts(certifications=(Certification("ISO 9001", TODAY - timedelta(days=1)),), audits=(audit,))
    failed = SupplierFacts(
        certifications=valid.certifications, audits=(Audit(TODAY - timedelta(days=5), 40, "fail", None),)
    )
    scores = [score(f)["components"]["compliance"] for f in (valid, expiring, expired)]
    assert scores == sorted(scores) and len(set(scores)) == 3
    assert score(failed)["components"]["compliance"] > scores[0]


def test_overall_is_the_weighted_sum_and_the_top_factors_are_ordered_by_contribution():
    facts = SupplierFacts(credit_rating="D", country_risk=80, deliveries=history(on_time=10))
    weights = {"financial": 0.4, "operational": 0.3, "geographical": 0.2, "compliance": 0.1}
    result = assess(facts, weights, TODAY)
    expected = sum(result["components"][c] * w for c, w in weights.items())
    assert result["overall"] == pytest.approx(expected, abs=0.02)
    contributions = [f["contribution"] for f in result["top_factors"]]
    assert contributions == sorted(contributions, reverse=True)
    assert result["top_factors"][0]["factor"] == "credit_rating" and result["top_factors"][0]["value"] == "D"


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"financial": 0.5, "operational": 0.5, "geographical": 0.5, "compliance": 0.5}, "sum to 1"),
        ({"financial": 1.0, "operational": 0.0, "geographical": 0.0}, "exactly"),
        ({"financial": 1.2, "operational": -0.2, "geographical": 0.0, "compliance": 0.0}, "between 0 and 1"),
        ({"financial": 0.25, "operational": 0.25, "geographical": 0.25, "compliance": 0.25, "esg": 0.0}, "exactly"),
    ],
    ids=["sum-too-high", "missing-component", "negative", "unknown-component"],
)
def test_weights_that_do_not_sum_sensibly_are_refused(weights, message):
    with pytest.raises(InvalidInputError, match=message):
        validate_weights(weights)
