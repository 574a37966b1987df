"""A supplier's share of the tenant's purchase spend and of its products nobody else supplies, over the last year.

The basis is every purchase, not the delivery history (``app.risk_delivery_history``): that view leaves out orders
without an expected date and lines an ERP had received before any sync saw them, which are no evidence of
punctuality but are money spent all the same. Like the connection it is given, it sees one tenant only."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

import asyncpg

SPEND_DAYS = 365


async def spend_shares(conn: asyncpg.Connection, today: date) -> dict[UUID, asyncpg.Record]:
    """Per supplier with purchases since ``today`` less a year: ``spend_share`` (None when the spend is in several
    currencies, which ``spend_currencies`` then names) and ``single_sourced_share``."""
    rows = await conn.fetch(
        """
        WITH recent AS (
            SELECT d.supplier_id, d.product_id, coalesce(d.value, 0) AS value, d.currency::text AS currency
            FROM app.supplier_deliveries d
            WHERE d.order_date >= $1
            UNION ALL
            -- Orders sent to the supplier (issued or later; drafts are not purchases, cancelled ones were not
            -- made), dated on the receiving warehouse's calendar as the delivery history dates them.
            SELECT po.supplier_id, l.product_id, l.quantity * l.unit_price, po.currency::text
            FROM app.purchase_order_lines l
            JOIN app.purchase_orders po ON po.tenant_id = l.tenant_id AND po.id = l.purchase_order_id
            JOIN app.warehouses w ON w.tenant_id = po.tenant_id AND w.id = po.warehouse_id
            WHERE po.status IN ('issued', 'partially_received', 'received')
              AND (coalesce(po.issued_at, po.created_at) AT TIME ZONE coalesce(w.timezone, 'UTC'))::date >= $1
              -- A line closed with nothing received (its backorder closed, or cancelled in the ERP) bought nothing.
              AND NOT (l.received_base = 0 AND l.received_base + l.cancelled_base >= l.quantity_base)
        ), sources AS (
            SELECT product_id, count(DISTINCT supplier_id) AS suppliers
            FROM recent WHERE product_id IS NOT NULL GROUP BY product_id
        ), currencies AS (
            SELECT array_agg(DISTINCT currency ORDER BY currency) AS codes FROM recent
        )
        -- Amounts in different currencies do not add up: with several, no share (spend_currencies says why).
        SELECT r.supplier_id,
               CASE WHEN cardinality((SELECT codes FROM currencies)) = 1
                    THEN (sum(r.value) / nullif((SELECT sum(value) FROM recent), 0))::float8
               END AS spend_share,
               CASE WHEN cardinality((SELECT codes FROM currencies)) > 1
                    THEN (SELECT codes FROM currencies)
               END AS spend_currencies,
               (count(DISTINCT r.product_id) FILTER (WHERE s.suppliers = 1)::float8
                / nullif(count(DISTINCT r.product_id), 0))::float8 AS single_sourced_share
        FROM recent r LEFT JOIN sources s ON s.product_id = r.product_id
        GROUP BY r.supplier_id
        """,
        today - timedelta(days=SPEND_DAYS),
    )
    return {r["supplier_id"]: r for r in rows}
