"""Alert hysteresis, compliance status and price statistics."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from risk import alerts, compliance
from risk.market import flag_price, price_statistics
from tests.risk.conftest import TODAY

THRESHOLD = alerts.Threshold(raise_at=0.6, clear_below=0.45)


def test_the_state_machine_raises_once_per_upward_crossing():
    values = [0.3, 0.65, 0.7, 0.58, 0.5, 0.62, 0.4, 0.61]
    active, raised = False, []
    for value in values:
        active, fire = alerts.next_state(active, value, THRESHOLD)
        raised.append(fire)
    # 0.65 crosses; hovering between 0.45 and 0.6 does not re-arm; 0.4 re-arms; 0.61 crosses again.
    assert raised == [False, True, False, False, False, False, False, True]


async def test_observations_write_one_notification_per_crossing(world):
    subject = uuid.uuid4()

    async def observe(value: float) -> bool:
        return await world.run(
            lambda tx: alerts.observe(
                tx.conn, tx.tenant_id, "late_delivery", subject, value, THRESHOLD, title="t", data={}
            )
        )

    fired = [await observe(v) for v in (0.7, 0.8, 0.3, 0.9)]
    assert fired == [True, False, False, True]
    async with world.pool.acquire() as conn:
        notes = await conn.fetchval("SELECT count(*) FROM app.notifications WHERE tenant_id = $1", world.tenant.id)
        state = await conn.fetchrow(
            "SELECT active, raised_count FROM app.risk_alert_state WHERE tenant_id = $1", world.tenant.id
        )
    assert notes == 2
    assert (state["active"], state["raised_count"]) == (True, 2)


def test_compliance_status_from_certificates_and_audits():
    def cert(days: int) -> dict:
        return {"standard": "ISO 9001", "expires_on": TODAY + timedelta(days=days)}

    passed = {"audited_on": TODAY - timedelta(days=10), "score": 90.0, "outcome": "pass", "next_due": None}
    failed = {**passed, "outcome": "fail"}
    status = compliance.supplier_status
    assert status([cert(200)], [passed], TODAY, 60)["status"] == "compliant"
    assert status([cert(30)], [passed], TODAY, 60)["status"] == "expiring"
    assert status([cert(-1)], [passed], TODAY, 60)["status"] == "non_compliant"
    assert status([cert(200)], [failed], TODAY, 60)["status"] == "non_compliant"
    assert status([], [], TODAY, 60)["status"] == "unknown"


async def test_the_tenant_report_counts_statuses_and_lists_upcoming_expiries(world, other_world):
    ok = await world.supplier("OK")
    soon = await world.supplier("SOON")
    await world.certification(ok, "ISO 9001", TODAY + timedelta(days=300))
    await world.certification(soon, "ISO 14001", TODAY + timedelta(days=15))
    theirs = await other_world.supplier("THEIRS")
    await other_world.certification(theirs, "ISO 9001", TODAY - timedelta(days=3))
    report = await world.run(lambda tx: compliance.tenant_report(tx.conn, TODAY, 60))
    assert report["counts"] == {"non_compliant": 0, "expiring": 1, "unknown": 0, "compliant": 1}
    assert [c["code"] for c in report["expiring_certifications"]] == ["SOON"]


def prices(values: list[float], start: date = date(2025, 1, 1)) -> pd.DataFrame:
    return pd.DataFrame(
        {"observed_on": [start + timedelta(days=30 * i) for i in range(len(values))], "unit_price": values}
    )


def test_volatility_trend_and_shocks_are_measured_on_log_price_changes():
    rng = np.random.default_rng(0)
    calm = price_statistics(prices(list(10 * np.exp(np.cumsum(rng.normal(0, 0.01, 24))))))
    rising = price_statistics(prices([10 * 1.02**i for i in range(24)]))
    shocked = price_statistics(prices([*(10 * np.exp(np.cumsum(rng.normal(0, 0.01, 23)))), 14.0]))
    assert calm["volatility"] < 0.02 and not calm["shock"]
    assert rising["trend_pct_per_90d"] == pytest.approx(6.1, abs=0.3)
    assert shocked["shock"] and shocked["last_change_pct"] > 30


def test_a_new_price_far_above_the_recent_median_is_flagged():
    history = prices([10.0, 10.1, 9.9, 10.05, 10.0])
    assert flag_price(history, 10.2) is None
    flagged = flag_price(history, 12.5)
    assert flagged is not None and flagged["change_pct"] == pytest.approx(25, abs=0.5)
    assert flag_price(history.iloc[:2], 50.0) is None  # too little history to judge
