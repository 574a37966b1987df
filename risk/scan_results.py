"""What the early-warning job stored, as the copilot and suggestions read it: each open order's latest
prediction and each supplier's score at the last scan (``risk.early_warning`` writes both)."""

from __future__ import annotations

from uuid import UUID

import asyncpg


async def stored_order_warnings(conn: asyncpg.Connection, order_ids: list[UUID]) -> dict[UUID, asyncpg.Record]:
    """The early-warning job's latest prediction per order (its most at-risk line still to come), keyed by order id.

    Only lines still open count: the scan's rows stay until the next scan, so a line received or cancelled since
    would go on warning for the order (the copilot quoted line 1's "91% likely late" once only line 2 was left).
    The rows keep no promised date, so a promise moved since the scan still reads the scan's prediction."""
    rows = await conn.fetch(
        """
        SELECT r.purchase_order_id, max(r.late_probability) AS late_probability,
               max(r.expected_delay_days) AS expected_delay_days, max(r.scored_at) AS scored_at
        FROM app.risk_predictions r
        JOIN app.purchase_order_lines l ON l.tenant_id = r.tenant_id AND l.id = r.purchase_order_line_id
        WHERE r.purchase_order_id = ANY($1::uuid[]) AND l.quantity_base > l.received_base + l.cancelled_base
        GROUP BY r.purchase_order_id
        """,
        order_ids,
    )
    return {r["purchase_order_id"]: r for r in rows}


async def scanned_supplier_scores(conn: asyncpg.Connection) -> dict[UUID, asyncpg.Record]:
    """Each supplier's overall score as of the early-warning job's last scan (and whether its alert is up).

    A supplier scanned before the tenant's weights last changed is left out: its stored score was weighted
    otherwise, so a score now minus it is the weights' change, not the supplier's (the copilot read a reweighting
    as "rising, +25.2" and suggested a review for it). It is back after the next scan."""
    rows = await conn.fetch(
        """
        SELECT a.subject_id, a.last_value, a.active, a.updated_at FROM app.risk_alert_state a
        WHERE a.kind = 'supplier_score'
          AND NOT EXISTS (SELECT FROM app.risk_weights w WHERE w.updated_at > a.updated_at)
        """
    )
    return {r["subject_id"]: r for r in rows}
