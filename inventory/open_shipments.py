"""Shipments under way, delayed ones first, narrowed by what a question names (the copilot's shipment tool)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

import asyncpg

from inventory.shipments import LATEST_EVENT_FIRST, SHIPMENT_COLUMNS

# Neither delivered nor cancelled (until 2026-12-08 a cancelled shipment could not exist; 0167 added the status).
UNDER_WAY = "s.status NOT IN ('delivered', 'cancelled')"


async def open_shipments(
    conn: asyncpg.Connection,
    today: date,
    *,
    shipment_ids: Sequence[UUID] = (),
    purchase_order_ids: Sequence[UUID] = (),
    product_ids: Sequence[UUID] = (),
    supplier_ids: Sequence[UUID] = (),
    delayed_only: bool = False,
    limit: int = 20,
) -> list[dict]:
    """Shipments under way, neither delivered nor cancelled (or the ``shipment_ids`` named, in any status), delayed
    ones first; with ``supplier_ids``, those bringing in those suppliers' purchase orders; with ``product_ids``, those
    carrying the products or bringing in an order for them.

    A shipment is delayed when its carrier reported a delay or an exception, or its expected delivery
    date has passed (``days_overdue``) on the calendar of the warehouse it goes to or leaves from (``today``,
    the reader's date, where the warehouse's time zone is not known). Each carries the tracking event its status
    follows (``LATEST_EVENT_FIRST``) and the number of the purchase order it brings in.
    """
    rows = await conn.fetch(
        f"""SELECT {", ".join(f"s.{c.strip()}" for c in SHIPMENT_COLUMNS.split(","))},
                   w.code AS warehouse_code, po.number AS purchase_order_number,
                   CASE WHEN {UNDER_WAY} AND s.expected_delivery < d.today
                        THEN d.today - s.expected_delivery ELSE 0 END AS days_overdue,
                   late.delayed, d.today AS counted_on,
                   e.event_type AS last_event, e.occurred_at AS last_event_at, e.location AS last_location,
                   e.description AS last_description
            FROM app.shipments s
            JOIN app.warehouses w ON w.tenant_id = s.tenant_id AND w.id = s.warehouse_id
            CROSS JOIN LATERAL (SELECT app.warehouse_today(w.timezone, $1::date) AS today) d
            -- false, not NULL, without an expected delivery: NULLs sort first under DESC
            CROSS JOIN LATERAL (SELECT coalesce({UNDER_WAY} AND (s.status IN ('delayed', 'exception')
                                                OR s.expected_delivery < d.today), false) AS delayed) late
            LEFT JOIN app.purchase_orders po ON po.tenant_id = s.tenant_id AND po.id = s.purchase_order_id
            LEFT JOIN LATERAL (
                SELECT event_type, occurred_at, location, description FROM app.shipment_events
                WHERE shipment_id = s.id ORDER BY {LATEST_EVENT_FIRST} LIMIT 1) e ON true
            WHERE (CASE WHEN cardinality($2::uuid[]) > 0 THEN s.id = ANY($2::uuid[])
                        ELSE {UNDER_WAY} END)
              AND (cardinality($3::uuid[]) = 0 OR s.purchase_order_id = ANY($3::uuid[]))
              AND (cardinality($4::uuid[]) = 0 OR EXISTS (
                      SELECT 1 FROM app.shipment_lines l WHERE l.shipment_id = s.id AND l.product_id = ANY($4::uuid[]))
                   OR EXISTS (  -- an inbound shipment has no lines: it brings its purchase order's
                      SELECT 1 FROM app.purchase_order_lines pl
                      WHERE pl.purchase_order_id = s.purchase_order_id AND pl.product_id = ANY($4::uuid[])))
              AND (NOT $5::boolean OR late.delayed)
              AND (cardinality($7::uuid[]) = 0 OR po.supplier_id = ANY($7::uuid[]))
            ORDER BY delayed DESC, days_overdue DESC, s.expected_delivery NULLS LAST, s.number
            LIMIT $6""",
        today,
        list(shipment_ids),
        list(purchase_order_ids),
        list(product_ids),
        delayed_only,
        limit,
        list(supplier_ids),
    )
    return [dict(r) for r in rows]
