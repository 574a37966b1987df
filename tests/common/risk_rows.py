"""One row in every risk table for a tenant, so the row-level-security test can check each is isolated."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import asyncpg

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
    supplier = await conn.fetchval("SELECT id FROM app.suppliers WHERE tenant_id = $1 AND code = 'S1'", tenant.id)
    day = date(2025, 1, 1)
    await conn.execute(
        "INSERT INTO app.supplier_risk_profiles (tenant_id, supplier_id, credit_rating) VALUES ($1, $2, 'A')",
        tenant.id,
        supplier,
    )
    await conn.execute(
        "INSERT INTO app.supplier_certifications (tenant_id, supplier_id, standard, expires_on) "
        "VALUES ($1, $2, 'ISO 9001', $3)",
        tenant.id,
        supplier,
        day,
    )
    await conn.execute(
        "INSERT INTO app.supplier_audits (tenant_id, supplier_id, audited_on, score, outcome) "
        "VALUES ($1, $2, $3, 90, 'pass')",
        tenant.id,
        supplier,
        day,
    )
    await conn.execute(
        "INSERT INTO app.supplier_deliveries (tenant_id, supplier_id, order_date, promised_date, quantity, import_key) "
        "VALUES ($1, $2, $3, $3, 1, 'k')",
        tenant.id,
        supplier,
        day,
    )
    await conn.execute(
        "INSERT INTO app.supplier_price_history (tenant_id, supplier_id, product_id, observed_on, unit_price, "
        "import_key) VALUES ($1, $2, $3, $4, 1, 'k')",
        tenant.id,
        supplier,
        tenant.products[0],
        day,
    )
    await conn.execute(
        "INSERT INTO app.risk_weights (tenant_id, financial, operational, geographical, compliance) "
        "VALUES ($1, 0.25, 0.25, 0.25, 0.25)",
        tenant.id,
    )
    run = await conn.fetchval(
        "INSERT INTO app.forecast_runs (tenant_id, model_name, model_type, version, run_key, freq, horizon) "
        "VALUES ($1, 'risk-disruption', 'xgboost-calibrated', 1, 'k', 'D', 1) RETURNING id",
        tenant.id,
    )
    await conn.execute(
        "INSERT INTO app.risk_model_artifacts (tenant_id, run_id, artifact) VALUES ($1, $2, '\\x00')", tenant.id, run
    )
    order = await conn.fetchval(
        "INSERT INTO app.purchase_orders (tenant_id, supplier_id, warehouse_id, currency) "
        "VALUES ($1, $2, $3, 'EUR') RETURNING id",
        tenant.id,
        supplier,
        tenant.warehouses[0],
    )
    line = await conn.fetchval(
        "INSERT INTO app.purchase_order_lines (tenant_id, purchase_order_id, line_no, product_id, quantity, uom, "
        "uom_factor, quantity_base, unit_price) VALUES ($1, $2, 1, $3, 1, 'each', 1, 1, 1) RETURNING id",
        tenant.id,
        order,
        tenant.products[0],
    )
    await conn.execute(
        "INSERT INTO app.risk_predictions (tenant_id, purchase_order_line_id, purchase_order_id, late_probability, "
        "expected_delay_days) VALUES ($1, $2, $3, 0.5, 1)",
        tenant.id,
        line,
        order,
    )
    await conn.execute(
        "INSERT INTO app.risk_alert_state (tenant_id, kind, subject_id, active, last_value) "
        "VALUES ($1, 'late_delivery', $2, true, 0.9)",
        tenant.id,
        uuid.uuid4(),
    )
