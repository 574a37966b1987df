"""Rows the live-data tools and suggestion sources read, arranged as the owner role (tiny, per test)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from tests.support.rows import insert
from training.registry import champion_key


async def add_supplier(conn: asyncpg.Connection, tenant: Any, code: str, name: str) -> UUID:
    supplier: UUID = await insert(conn, "suppliers", tenant_id=tenant.id, code=code, name=name)
    return supplier


async def add_suppliers(conn: asyncpg.Connection, tenant: Any, *suppliers: tuple[str, str]) -> list[UUID]:
    """Suppliers of the given (code, name), in that order."""
    return [await add_supplier(conn, tenant, code, name) for code, name in suppliers]


async def add_products(conn: asyncpg.Connection, tenant: Any, *products: tuple[str, str]) -> list[UUID]:
    """Products of the given (SKU, name), in that order."""
    return [await insert(conn, "products", tenant_id=tenant.id, sku=sku, name=name) for sku, name in products]


async def add_order(
    conn: asyncpg.Connection,
    tenant: Any,
    supplier: UUID,
    expected: date | None,
    lines: list[tuple[int, int, int]],
    *,
    status: str = "issued",
    warehouse: int = 0,
) -> tuple[UUID, str]:
    """A purchase order in ``status`` with ``lines`` of (product index, quantity, unit price)."""
    order = await conn.fetchrow(
        "INSERT INTO app.purchase_orders (tenant_id, supplier_id, warehouse_id, currency, expected_date, status, "
        "issued_at) VALUES ($1, $2, $3, 'EUR', $4, $5, CASE WHEN $5 = 'draft' THEN NULL ELSE now() END) "
        "RETURNING id, number",
        tenant.id,
        supplier,
        tenant.warehouses[warehouse],
        expected,
        status,
    )
    assert order is not None
    for line_no, (product, quantity, price) in enumerate(lines, start=1):
        await conn.execute(
            "INSERT INTO app.purchase_order_lines (tenant_id, purchase_order_id, line_no, product_id, quantity, uom, "
            "uom_factor, quantity_base, unit_price) VALUES ($1, $2, $3, $4, $5, 'each', 1, $5, $6)",
            tenant.id,
            order["id"],
            line_no,
            tenant.products[product],
            quantity,
            price,
        )
    return order["id"], order["number"]


async def add_warning(conn: asyncpg.Connection, tenant: Any, order: UUID, probability: float, delay: float) -> None:
    """The early-warning job's stored prediction for every line of ``order``."""
    await conn.execute(
        "INSERT INTO app.risk_predictions (tenant_id, purchase_order_line_id, purchase_order_id, late_probability, "
        "expected_delay_days) SELECT tenant_id, id, purchase_order_id, $2, $3 FROM app.purchase_order_lines "
        "WHERE purchase_order_id = $1",
        order,
        probability,
        delay,
    )


async def add_shipment(
    conn: asyncpg.Connection,
    tenant: Any,
    tracking: str,
    status: str,
    expected: date | None,
    *,
    order: UUID | None = None,
    events: Sequence[tuple[str, datetime, str | None, str | None]] = (),
) -> tuple[UUID, str]:
    shipment = await conn.fetchrow(
        "INSERT INTO app.shipments (tenant_id, direction, status, warehouse_id, purchase_order_id, carrier, "
        "tracking_number, expected_delivery) VALUES ($1, 'inbound', $2, $3, $4, 'DHL', $5, $6) RETURNING id, number",
        tenant.id,
        status,
        tenant.warehouses[0],
        order,
        tracking,
        expected,
    )
    assert shipment is not None
    for event_type, occurred_at, location, description in events:
        await conn.execute(
            "INSERT INTO app.shipment_events (tenant_id, shipment_id, event_type, occurred_at, location, description, "
            "source) VALUES ($1, $2, $3, $4, $5, $6, 'webhook')",
            tenant.id,
            shipment["id"],
            event_type,
            occurred_at,
            location,
            description,
        )
    return shipment["id"], shipment["number"]


async def add_forecast(
    conn: asyncpg.Connection,
    tenant: Any,
    product: int,
    start: date,
    values: list[float],
    *,
    freq: str = "D",
    spread: float = 0.2,
    version: int = 1,
) -> UUID:
    """A champion ``demand-<freq>`` run with one series: ``values`` from ``start``, P10/P90 at +/- spread."""
    step = 7 if freq == "W" else 1
    run: UUID = await conn.fetchval(
        "INSERT INTO app.forecast_runs (tenant_id, model_name, model_type, version, run_key, freq, horizon, status, "
        "training_end, metrics) VALUES ($1, $2, 'auto', $3, $4, $5, $6, 'champion', $7, '{\"mase\": 0.8}') "
        "RETURNING id",
        tenant.id,
        champion_key(freq),
        version,
        f"test/{version}",
        freq,
        len(values),
        datetime.combine(start, datetime.min.time(), UTC),
    )
    await conn.executemany(
        "INSERT INTO app.demand_forecasts (tenant_id, run_id, product_id, warehouse_id, ds, yhat, quantiles, model) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, 'auto_ets')",
        [
            (
                tenant.id,
                run,
                tenant.products[product],
                tenant.warehouses[0],
                datetime.combine(start + timedelta(days=i * step), datetime.min.time(), UTC),
                value,
                json.dumps({"0.1": value * (1 - spread), "0.5": value, "0.9": value * (1 + spread)}),
            )
            for i, value in enumerate(values)
        ],
    )
    return run


async def make_risky(conn: asyncpg.Connection, tenant: Any, supplier: UUID, today: date) -> None:
    """A weak credit profile, an expired certificate and a failed audit; scores weighted on those."""
    t = tenant.id
    await insert(
        conn, "supplier_risk_profiles", tenant_id=t, supplier_id=supplier, credit_rating="CCC", days_payable=150,
        revenue_trend_pct=-40,
    )  # fmt: skip
    expired = today - timedelta(days=30)
    await insert(
        conn, "supplier_certifications", tenant_id=t, supplier_id=supplier, standard="ISO 9001", expires_on=expired
    )
    audited = today - timedelta(days=100)
    await insert(
        conn, "supplier_audits", tenant_id=t, supplier_id=supplier, audited_on=audited, score=30, outcome="fail"
    )
    await conn.execute(
        "INSERT INTO app.risk_weights (tenant_id, financial, operational, geographical, compliance) "
        "VALUES ($1, 0.5, 0, 0, 0.5) ON CONFLICT DO NOTHING",
        t,
    )


async def add_risky_supplier(conn: asyncpg.Connection, tenant: Any, code: str, name: str, today: date) -> UUID:
    """A supplier made risky as ``make_risky`` makes it (risk score 94/100 on the weights it sets)."""
    supplier = await add_supplier(conn, tenant, code, name)
    await make_risky(conn, tenant, supplier, today)
    return supplier


async def add_risky_and_safe_supplier(
    conn: asyncpg.Connection,
    tenant: Any,
    today: date,
    risky: tuple[str, str] = ("RISKY", "Risky Supply"),
    safe: tuple[str, str] = ("SAFE", "Safe Supply"),
) -> tuple[UUID, UUID]:
    """Two suppliers to rank, each a (code, name): ``risky`` as ``add_risky_supplier`` makes it, and ``safe`` with no
    risk data, added first (so a ranking by score is not the order they were added in)."""
    safe_id = await add_supplier(conn, tenant, *safe)
    return await add_risky_supplier(conn, tenant, *risky, today), safe_id


async def add_scanned_score(conn: asyncpg.Connection, tenant: Any, supplier: UUID, score: float) -> None:
    """The supplier's score as the early-warning job's last scan stored it."""
    await insert(
        conn, "risk_alert_state", tenant_id=tenant.id, kind="supplier_score", subject_id=supplier, active=False,
        last_value=score,
    )  # fmt: skip


async def add_products_below_their_minimum(conn: asyncpg.Connection, tenant: Any, supplier: UUID, count: int) -> None:
    """``count`` products R-001... with no stock, each with a reorder rule at the first warehouse (minimum 5) from
    ``supplier``: ``count`` reorder suggestions."""
    await conn.execute(
        "INSERT INTO app.products (tenant_id, sku, name, unit_of_measure) "
        "SELECT $1, 'R-' || lpad(g::text, 3, '0'), 'Rule product ' || g, 'each' FROM generate_series(1, $2) g",
        tenant.id,
        count,
    )
    await conn.execute(
        "INSERT INTO app.reorder_rules (tenant_id, product_id, warehouse_id, supplier_id, min_quantity, max_quantity, "
        "lead_time_days) SELECT $1, p.id, $2, $3, 5, 10, 7 FROM app.products p "
        "WHERE p.tenant_id = $1 AND p.sku LIKE 'R-%'",
        tenant.id,
        tenant.warehouses[0],
        supplier,
    )
