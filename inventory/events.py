"""Real-time events, published from PostgreSQL so that every replica can deliver them.

``publish`` calls ``pg_notify`` inside the caller's transaction: PostgreSQL delivers the notification
to every listener when (and only if) the transaction commits, so a rolled-back change never announces
itself. Payloads stay small (NOTIFY caps them at 8000 bytes): identifiers and figures, not documents.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

CHANNEL = "chainsight_events"

STOCK_CHANGED = "stock.changed"
PURCHASE_ORDER_STATUS = "purchase_order.status_changed"
SHIPMENT_EVENT = "shipment.event"
ALERT = "alert"


def encode(tenant_id: UUID, kind: str, data: dict[str, Any]) -> str:
    message = {"tenant_id": str(tenant_id), "type": kind, "at": datetime.now(UTC).isoformat(), "data": data}
    return json.dumps(message, default=str, separators=(",", ":"))


async def publish(conn: asyncpg.Connection, tenant_id: UUID, kind: str, data: dict[str, Any]) -> None:
    """Queue an event for delivery when the current transaction commits."""
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, encode(tenant_id, kind, data))
