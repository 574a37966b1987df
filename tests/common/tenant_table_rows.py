"""One row in each core, forecasting, copilot and integration table for a tenant, for the row-level security probe
(the purchasing, logistics and risk tables have theirs in logistics_rows.py and risk_rows.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from tests.support.rows import insert

CORE_TABLES = ["reservations", "idempotency_keys", "forecast_runs", "demand_forecasts"]
INTEGRATION_TABLES = [
    "integration_connectors",
    "integration_sync_state",
    "integration_sync_runs",
    "integration_dead_letters",
    "integration_external_ids",
    "integration_push_claims",
]
EMBEDDING = "[" + ",".join(["0.1"] * 384) + "]"


async def add_core_rows(conn: asyncpg.Connection, tenant: Any) -> None:
    t, product, warehouse = tenant.id, tenant.products[0], tenant.warehouses[0]
    await insert(conn, "reservations", tenant_id=t, product_id=product, warehouse_id=warehouse, quantity=1)
    await insert(conn, "idempotency_keys", tenant_id=t, user_id=tenant.planner, key="k1", fingerprint="f")
    run = await insert(
        conn, "forecast_runs", tenant_id=t, model_name="demand-D", model_type="auto", version=1, run_key="k",
        freq="D", horizon=1,
    )  # fmt: skip
    await insert(
        conn, "demand_forecasts", tenant_id=t, run_id=run, product_id=product, warehouse_id=warehouse,
        ds=datetime(2025, 1, 1, tzinfo=UTC), yhat=1.0, model="auto_ets",
    )  # fmt: skip


async def add_copilot_rows(conn: asyncpg.Connection, tenant: Any, user: uuid.UUID) -> None:
    """Conversations, messages, feedback and LLM requests are private: they belong to ``user``."""
    t = tenant.id
    document = await insert(
        conn, "copilot_documents", tenant_id=t, filename="notes.md", content_type="text/markdown", size_bytes=1,
        sha256="digest", chunk_count=1,
    )  # fmt: skip
    await insert(
        conn, "copilot_chunks", tenant_id=t, document_id=document, ordinal=0, content="Dock 3", embedding=EMBEDDING
    )
    conversation = await insert(conn, "copilot_conversations", tenant_id=t, user_id=user, title="Dock hours")
    message = await insert(
        conn, "copilot_messages", tenant_id=t, conversation_id=conversation, user_id=user, role="assistant",
        content="Noon.",
    )  # fmt: skip
    await insert(conn, "copilot_feedback", tenant_id=t, message_id=message, user_id=user, rating=1)
    await insert(conn, "copilot_requests", tenant_id=t, user_id=user)


async def add_integration_rows(conn: asyncpg.Connection, tenant: Any) -> None:
    t = tenant.id
    connector = await insert(
        conn, "integration_connectors", tenant_id=t, name="erp", kind="odoo", base_url="http://erp.invalid",
        credentials=b"\x00", entities=["products"], acting_user_id=tenant.planner,
    )  # fmt: skip
    await insert(conn, "integration_sync_state", tenant_id=t, connector_id=connector, entity="products")
    run = await insert(conn, "integration_sync_runs", tenant_id=t, connector_id=connector, trigger="api")
    await insert(
        conn, "integration_dead_letters", tenant_id=t, connector_id=connector, entity="products", external_id="7",
        run_id=run, error="bad row",
    )  # fmt: skip
    await insert(
        conn, "integration_external_ids", tenant_id=t, connector_id=connector, entity="products", external_id="7",
        local_id=tenant.products[0],
    )  # fmt: skip
    supplier = await insert(conn, "suppliers", tenant_id=t, code="ERP-S", name="pushed to")
    order = await insert(
        conn, "purchase_orders", tenant_id=t, supplier_id=supplier, warehouse_id=tenant.warehouses[0], currency="EUR"
    )
    await insert(conn, "integration_push_claims", tenant_id=t, connector_id=connector, purchase_order_id=order)
