"""The open order book as planners and the copilot read it: orders still to come, the most overdue first,
each with what is still outstanding per line (in the product's unit)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

import asyncpg

from inventory.purchasing import SUMMARY_COLUMNS


async def open_orders(
    conn: asyncpg.Connection,
    today: date,
    *,
    order_ids: Sequence[UUID] = (),
    supplier_ids: Sequence[UUID] = (),
    product_ids: Sequence[UUID] = (),
    late_only: bool = False,
    limit: int = 20,
) -> list[dict]:
    """Issued and partially received orders (or the ``order_ids`` named, in any status), the most overdue
    first: each with ``days_late`` and its ``outstanding`` lines (what is still to come, in the product's unit).

    ``days_late`` counts how far the expected date lies behind the receiving warehouse's current date, on its
    calendar (an order due today in Los Angeles is not late yet when the day is over in Berlin); ``today``, the
    reader's date, stands in for a warehouse whose time zone is not known. ``counted_on`` is the date counted
    from. Listed by ``product_ids``, an order comes only while one of those products is still to come on it."""
    columns = ", ".join(f"o.{c.strip()}" for c in SUMMARY_COLUMNS.split(","))
    rows = await conn.fetch(
        f"""SELECT {columns}, s.name AS supplier_name,
                   CASE WHEN o.status IN ('issued', 'partially_received') AND o.expected_date < d.today
                        THEN d.today - o.expected_date ELSE 0 END AS days_late,
                   d.today AS counted_on
            FROM app.purchase_order_summaries o
            JOIN app.suppliers s ON s.id = o.supplier_id
            JOIN app.warehouses w ON w.id = o.warehouse_id
            CROSS JOIN LATERAL (SELECT app.warehouse_today(w.timezone, $1::date) AS today) d
            WHERE (CASE WHEN cardinality($2::uuid[]) > 0 THEN o.id = ANY($2::uuid[])
                        ELSE o.status IN ('issued', 'partially_received') END)
              AND (cardinality($3::uuid[]) = 0 OR o.supplier_id = ANY($3::uuid[]))
              AND (cardinality($4::uuid[]) = 0 OR EXISTS (
                      SELECT 1 FROM app.purchase_order_lines l
                      WHERE l.purchase_order_id = o.id AND l.product_id = ANY($4::uuid[])
                        -- listed for a product only while that product is still to come on it
                        AND (cardinality($2::uuid[]) > 0 OR l.quantity_base > l.received_base + l.cancelled_base)))
              AND (NOT $5::boolean OR (o.status IN ('issued', 'partially_received') AND o.expected_date < d.today))
            ORDER BY days_late DESC, o.expected_date NULLS LAST, o.number
            LIMIT $6""",
        today,
        list(order_ids),
        list(supplier_ids),
        list(product_ids),
        late_only,
        limit,
    )
    orders = [dict(r) | {"outstanding": []} for r in rows]
    by_id = {o["id"]: o for o in orders}
    lines = await conn.fetch(
        """SELECT l.purchase_order_id, l.line_no, l.product_id, p.sku, p.name AS product_name,
                  p.unit_of_measure, greatest(l.quantity_base - l.received_base - l.cancelled_base, 0) AS quantity
           FROM app.purchase_order_lines l
           JOIN app.purchase_orders po ON po.tenant_id = l.tenant_id AND po.id = l.purchase_order_id
           JOIN app.products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id
           WHERE l.purchase_order_id = ANY($1::uuid[]) AND l.quantity_base > l.received_base + l.cancelled_base
             AND po.status <> 'cancelled'  -- an order named by number may be cancelled: nothing of it is to come
           ORDER BY l.purchase_order_id, l.line_no""",
        list(by_id),
    )
    for line in lines:
        by_id[line["purchase_order_id"]]["outstanding"].append(dict(line))
    return orders
