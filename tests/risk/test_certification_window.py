"""The certifications driver of the supplier score judges "expiring" over the window asked for (a report's
``window_days``, the scan's alert window), as the compliance report and the certificate alerts do; 60 days
where nothing is asked."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from risk import service
from risk.scoring import Certification, SupplierFacts, compliance_factors
from tests.risk.conftest import TODAY, RiskWorld


def certifications_factor(days_left: int, **window: int) -> str:
    facts = SupplierFacts(certifications=(Certification("ISO 9001", TODAY + timedelta(days=days_left)),))
    (factor,) = [f for f in compliance_factors(facts, TODAY, **window) if f.name == "certifications"]
    return str(factor.value)


def test_a_certificate_75_days_from_expiry_is_expiring_in_a_90_day_window_and_valid_in_the_default_60():
    # Before, the driver judged over 60 days whatever window was asked: "all valid" in a 90-day report.
    assert certifications_factor(75) == "all valid"
    assert certifications_factor(75, window_days=90) == "expiring: ISO 9001"


def test_a_certificate_30_days_from_expiry_is_valid_in_a_5_day_window():
    assert certifications_factor(30) == "expiring: ISO 9001"
    assert certifications_factor(30, window_days=5) == "all valid"


async def _supplier_score_state(world: RiskWorld, supplier: uuid.UUID) -> float:
    value = await world.pool.fetchval(
        "SELECT last_value FROM app.risk_alert_state WHERE tenant_id = $1 AND kind = 'supplier_score' "
        "AND subject_id = $2",
        world.tenant.id,
        supplier,
    )
    return float(value)


async def test_the_scan_scores_suppliers_over_its_certificate_alert_window(world: RiskWorld):
    # Before, a scan with a 90-day alert window raised the certificate's alert and scored its supplier as if the
    # certificate were valid (the driver's fixed 60 days).
    supplier = await world.supplier("WIDE")
    await world.certification(supplier, "ISO 9001", TODAY + timedelta(days=75))
    default_overall = (await world.run(lambda tx: service.rank_suppliers(tx, TODAY, limit=None)))["suppliers"][0][
        "overall"
    ]
    wide = service.ScanThresholds(expiry_window_days=90)

    result = await world.run(lambda tx: service.scan(tx, service.ModelStore(), TODAY, wide), user=world.tenant.admin)

    assert result["alerts_raised"]["certification_expiry"] == 1
    # Expiring: the driver's 50 points, half of compliance, which weighs 0.2 of the overall score.
    assert await _supplier_score_state(world, supplier) == pytest.approx(default_overall + 50 * 0.5 * 0.2, abs=0.011)
