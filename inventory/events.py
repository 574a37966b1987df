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


# NOTIFY refuses a payload of 8000 bytes or more, which would fail the whole transaction (an ERP sync that
# failed with a long error message could then never record its failure).
MAX_PAYLOAD_BYTES = 7900
CLIPPED_CHARS = 1000


def encode(tenant_id: UUID, kind: str, data: dict[str, Any]) -> str:
    """The event as JSON, under NOTIFY's limit: long text values are clipped (and ``truncated`` set)."""
    message: dict[str, Any] = {"tenant_id": str(tenant_id), "type": kind, "at": datetime.now(UTC).isoformat()}
    text = _dump({**message, "data": data})
    if len(text.encode()) < MAX_PAYLOAD_BYTES:
        return text
    clipped = {
        k: v[:CLIPPED_CHARS] + "..." if isinstance(v, str) and len(v) > CLIPPED_CHARS else v for k, v in data.items()
    }
    text = _dump({**message, "data": {**clipped, "truncated": True}})
    if len(text.encode()) < MAX_PAYLOAD_BYTES:
        return text
    # Still too long (many fields, nested lists): the identifiers alone; listeners re-read the details.
    scalars = {
        k: v for k, v in data.items() if isinstance(v, int | float | bool) or (isinstance(v, str) and len(v) <= 100)
    }
    text = _dump({**message, "data": {**scalars, "truncated": True}})
    return text if len(text.encode()) < MAX_PAYLOAD_BYTES else _dump({**message, "data": {"truncated": True}})


def _dump(message: dict[str, Any]) -> str:
    return json.dumps(message, default=str, separators=(",", ":"))


async def publish(conn: asyncpg.Connection, tenant_id: UUID, kind: str, data: dict[str, Any]) -> None:
    """Queue an event for delivery when the current transaction commits."""
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, encode(tenant_id, kind, data))
