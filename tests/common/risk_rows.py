"""One row in every risk table for a tenant, so the row-level-security test can check each is isolated."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import asyncpg

from tests.common.logistics_rows import add_order_line
from tests.support.rows import insert

RISK_TABLES = [
    "supplier_risk_profiles",
    "supplier_certifications",
    "supplier_audits",
    "supplier_deliveries",
    "supplier_price_history",
    "risk_weights",
    "risk_model_artifacts",
    "risk_predictions",
    "risk_alert_state",
]


async def add_risk_rows(conn: asyncpg.Connection, tenant: Any) -> None:
    """Arranged as the owner role; ``tenant`` is a TenantFixture with a supplier coded 'S1'."""
    t, product = tenant.id, tenant.products[0]
    supplier = await conn.fetchval("SELECT id FROM app.suppliers WHERE tenant_id = $1 AND code = 'S1'", t)
    day = date(2025, 1, 1)
    await insert(conn, "supplier_risk_profiles", tenant_id=t, supplier_id=supplier, credit_rating="A")
    await insert(
        conn, "supplier_certifications", tenant_id=t, supplier_id=supplier, standard="ISO 9001", expires_on=day
    )
    await insert(conn, "supplier_audits", tenant_id=t, supplier_id=supplier, audited_on=day, score=90, outcome="pass")
    await insert(
        conn, "supplier_deliveries", tenant_id=t, supplier_id=supplier, order_date=day, promised_date=day,
        quantity=1, import_key="k",
    )  # fmt: skip
    await insert(
        conn, "supplier_price_history", tenant_id=t, supplier_id=supplier, product_id=product, observed_on=day,
        unit_price=1, import_key="k",
    )  # fmt: skip
    await insert(
        conn, "risk_weights", tenant_id=t, financial=0.25, operational=0.25, geographical=0.25, compliance=0.25
    )
    run = await insert(
        conn, "forecast_runs", tenant_id=t, model_name="risk-disruption", model_type="xgboost-calibrated",
        version=1, run_key="k", freq="D", horizon=1,
    )  # fmt: skip
    await insert(conn, "risk_model_artifacts", tenant_id=t, run_id=run, artifact=b"\x00")
    order, line = await add_order_line(conn, t, supplier, tenant.warehouses[0], product)
    await insert(
        conn, "risk_predictions", tenant_id=t, purchase_order_line_id=line, purchase_order_id=order,
        late_probability=0.5, expected_delay_days=1,
    )  # fmt: skip
    await insert(
        conn, "risk_alert_state", tenant_id=t, kind="late_delivery", subject_id=uuid.uuid4(), active=True,
        last_value=0.9,
    )  # fmt: skip
