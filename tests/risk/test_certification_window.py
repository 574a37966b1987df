"""A supplier's score is one figure everywhere: its certifications driver counts a certificate as expiring within
EXPIRY_WARNING_DAYS (60) whatever window a report lists certificates over or the scan alerts on them over."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from risk import service
from risk.scoring import EXPIRY_WARNING_DAYS, Certification, SupplierFacts, compliance_factors
from tests.risk.conftest import TODAY, RiskWorld


def certifications_factor(days_left: int) -> str:
    facts = SupplierFacts(certifications=(Certification("ISO 9001", TODAY + timedelta(days=days_left)),))
    (factor,) = [f for f in compliance_factors(facts, TODAY) if f.name == "certifications"]
    return str(factor.value)


def test_the_score_counts_a_certificate_as_expiring_within_60_days():
    assert EXPIRY_WARNING_DAYS == 60
    assert certifications_factor(60) == "expiring: ISO 9001"
    assert certifications_factor(61) == "all valid"


async def _supplier_score_state(world: RiskWorld, supplier: uuid.UUID) -> float:
    value = await world.pool.fetchval(
        "SELECT last_value FROM app.risk_alert_state WHERE tenant_id = $1 AND kind = 'supplier_score' "
        "AND subject_id = $2",
        world.tenant.id,
        supplier,
    )
    return float(value)


async def test_a_scan_with_a_90_day_alert_window_alerts_on_a_75_day_certificate_and_stores_the_apps_score(
    world: RiskWorld,
):
    # Before (c39fb98), the scan scored suppliers over its alert window: with 90 days it stored 5 points more than
    # /ai/risk/suppliers gave the same day, and the copilot's "rising" compared scores of different windows.
    supplier = await world.supplier("WIDE")
    await world.certification(supplier, "ISO 9001", TODAY + timedelta(days=75))
    app_score = (await world.run(lambda tx: service.assess_supplier(tx, supplier, TODAY)))["overall"]
    wide = service.ScanThresholds(expiry_window_days=90)

    result = await world.run(lambda tx: service.scan(tx, service.ModelStore(), TODAY, wide), user=world.tenant.admin)

    assert result["alerts_raised"]["certification_expiry"] == 1
    assert await _supplier_score_state(world, supplier) == pytest.approx(app_score, abs=0.006)
