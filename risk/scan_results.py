"""What the early-warning job stored, as the copilot and suggestions read it: each open order's latest
prediction and each supplier's score at the last scan (``risk.early_warning`` writes both)."""

from __future__ import annotations

from uuid import UUID

import asyncpg


async def stored_order_warnings(conn: asyncpg.Connection, order_ids: list[UUID]) -> dict[UUID, asyncpg.Record]:
    """The early-warning job's latest prediction per order (its most at-risk line), keyed by order id."""
    rows = await conn.fetch(
        """
        SELECT purchase_order_id, max(late_probability) AS late_probability,
               max(expected_delay_days) AS expected_delay_days, max(scored_at) AS scored_at
        FROM app.risk_predictions WHERE purchase_order_id = ANY($1::uuid[])
        GROUP BY purchase_order_id
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
