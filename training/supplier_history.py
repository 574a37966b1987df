"""A supplier's purchase orders from the database: received ones with their first receipt, open ones, for the
lead-time estimate (``training.supply``); and which supplier replenishes a product at a warehouse.

Plain async functions over an asyncpg connection, under the caller's row-level security. A supplier's lead time
may differ by where it delivers (a lane per warehouse): ``scoped_supplier_history`` reads a product's and a
warehouse's own orders when they hold enough receipts, the supplier's pooled ones otherwise, and says which.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import pandas as pd

from inventory.schemas import CLOCK_SKEW
from training.lead_time_choice import MIN_RECEIPTS_FOR_SAMPLES

POOLED = "all the supplier's orders, every warehouse and product"


@dataclass(frozen=True)
class SupplierHistory:
    supplier_id: UUID
    nominal_lead_time_days: float | None
    # timezone: the receiving warehouse's, whose calendar the expected date is on
    received: pd.DataFrame  # purchase_order_id, issued_at, expected_date, timezone, first_received_at
    # purchase_order_id, issued_at, expected_date, timezone, received_undated (partly received at an unknown date:
    # an ERP's before any sync saw it; still out, but its time out is no lower bound on its lead time)
    open_orders: pd.DataFrame
    scope: str = POOLED  # whose orders these are, as the answers say it


async def supplier_history(
    conn: asyncpg.Connection,
    supplier_id: UUID,
    *,
    lookback_days: int = 730,
    now: datetime | None = None,
    reader_zone: str = "UTC",
    warehouse_id: UUID | None = None,
    product_id: UUID | None = None,
) -> SupplierHistory | None:
    """The supplier's issued purchase orders with their first receipt (a receipt row, or an ERP sync's stamp on a
    line, whichever is earlier); None when the supplier is unknown. ``warehouse_id``: only orders to it;
    ``product_id``: only orders with a line of it, dated by that line's receipts and open while that line is.

    Dates are on the receiving warehouse's calendar. Where its zone is not known, received orders read on UTC's
    (as the delivery history does) and open ones on ``reader_zone``'s, so an open order is late here exactly when
    the order book says so."""
    nominal = await conn.fetchrow("SELECT lead_time_days FROM app.suppliers WHERE id = $1", supplier_id)
    if nominal is None:
        return None
    moment = now or datetime.now(UTC)
    since = moment - timedelta(days=lookback_days)
    rows = await conn.fetch(
        """
        SELECT po.id AS purchase_order_id, po.issued_at, po.expected_date, po.status,
               w.timezone, least(receipt.first_at, erp.first_at) AS first_received_at, erp.line_open,
               coalesce(erp.received_undated, false) AS received_undated
        FROM app.purchase_orders po
        JOIN app.warehouses w ON w.tenant_id = po.tenant_id AND w.id = po.warehouse_id
        -- A receipt dated ahead of the clock (refused since 2026-12-06, but older rows may hold one) is not a lead
        -- time: one dated centuries ahead dominated the estimate, past 2262 it broke pandas' timestamps. With a
        -- product, only a receipt of its line dates it: another product's early delivery is not its lead time.
        CROSS JOIN LATERAL (SELECT min(r.received_at) AS first_at FROM app.purchase_receipts r
                            WHERE r.tenant_id = po.tenant_id AND r.purchase_order_id = po.id
                              AND r.received_at <= $3
                              AND ($5::uuid IS NULL OR EXISTS (
                                  SELECT 1 FROM app.purchase_receipt_lines rl
                                  JOIN app.purchase_order_lines l
                                    ON l.tenant_id = rl.tenant_id AND l.id = rl.purchase_order_line_id
                                  WHERE rl.tenant_id = r.tenant_id AND rl.receipt_id = r.id AND l.product_id = $5))
                           ) receipt
        -- An ERP's receipt has no row of Chainsight's: the sync that first saw a line's received quantity grow
        -- stamped it (erp_received_at is the last such sync: a line received in parts read its completing one).
        -- line_open: whether a line (of the product, with one) still awaits some of its quantity; NULL: no line.
        CROSS JOIN LATERAL (SELECT min(l.erp_first_received_at) FILTER (WHERE l.erp_first_received_at <= $3)
                                       AS first_at,
                                   bool_or(l.received_base + l.cancelled_base < l.quantity_base) AS line_open,
                                   -- Received before any sync saw it (an ERP's line that came partly received):
                                   -- no stamp and no receipt of Chainsight's says when.
                                   bool_or(l.received_base > 0 AND l.erp_first_received_at IS NULL
                                           AND NOT EXISTS (SELECT 1 FROM app.purchase_receipt_lines rl
                                                           WHERE rl.tenant_id = l.tenant_id
                                                             AND rl.purchase_order_line_id = l.id))
                                       AS received_undated
                            FROM app.purchase_order_lines l
                            WHERE l.tenant_id = po.tenant_id AND l.purchase_order_id = po.id
                              AND ($5::uuid IS NULL OR l.product_id = $5)) erp
        WHERE po.supplier_id = $1 AND po.issued_at IS NOT NULL AND po.issued_at >= $2
          AND po.status <> 'cancelled' AND ($4::uuid IS NULL OR po.warehouse_id = $4)
          AND ($5::uuid IS NULL OR erp.line_open IS NOT NULL)
        ORDER BY po.issued_at
        """,
        supplier_id,
        since,
        moment + CLOCK_SKEW,
        warehouse_id,
        product_id,
    )
    frame = pd.DataFrame(
        [dict(r) for r in rows],
        columns=[
            "purchase_order_id", "issued_at", "expected_date", "status", "timezone", "first_received_at", "line_open",
            "received_undated",
        ],
    )  # fmt: skip
    frame["purchase_order_id"] = frame["purchase_order_id"].astype(str)
    received = frame[frame["first_received_at"].notna()].drop(columns=["status", "line_open", "received_undated"])
    received = received.reset_index(drop=True)
    received["timezone"] = received["timezone"].fillna("UTC")
    # A received order with no receipt date (an ERP's received before any sync saw it) is neither: when is unknown.
    still_out = frame["status"].isin(["issued", "partially_received"])
    if product_id is not None:  # the order's other lines may be what is still to come
        still_out &= frame["line_open"].eq(True)
    open_orders = frame[frame["first_received_at"].isna() & still_out]
    open_orders = open_orders.copy()
    open_orders["timezone"] = open_orders["timezone"].fillna(reader_zone)
    lead = nominal["lead_time_days"]
    return SupplierHistory(
        supplier_id=supplier_id,
        nominal_lead_time_days=float(lead) if lead is not None else None,
        received=received,
        open_orders=open_orders[
            ["purchase_order_id", "issued_at", "expected_date", "timezone", "received_undated"]
        ].reset_index(drop=True),
    )


async def scoped_supplier_history(
    conn: asyncpg.Connection,
    supplier_id: UUID,
    *,
    warehouse_id: UUID | None = None,
    product_id: UUID | None = None,
    now: datetime | None = None,
    reader_zone: str = "UTC",
) -> SupplierHistory | None:
    """The supplier's orders of this product to this warehouse, else to this warehouse (else of this product, with
    no warehouse), else all of them: the first with ``MIN_RECEIPTS_FOR_SAMPLES`` receipts; ``scope`` says which.
    None when the supplier is unknown."""
    scopes: list[tuple[UUID | None, UUID | None, str]] = []
    if product_id is not None and warehouse_id is not None:
        scopes.append((warehouse_id, product_id, "this product's orders to this warehouse"))
    if warehouse_id is not None:
        scopes.append((warehouse_id, None, "orders to this warehouse, every product"))
    elif product_id is not None:
        scopes.append((None, product_id, "this product's orders, every warehouse"))
    for warehouse, product, scope in scopes:
        found = await supplier_history(
            conn, supplier_id, now=now, reader_zone=reader_zone, warehouse_id=warehouse, product_id=product
        )
        if found is None:
            return None
        if len(found.received) >= MIN_RECEIPTS_FOR_SAMPLES:
            return replace(found, scope=scope)
    pooled = await supplier_history(conn, supplier_id, now=now, reader_zone=reader_zone)
    if pooled is None or not scopes:
        return pooled
    tried = scopes[-1][2].split(",")[0]
    return replace(pooled, scope=f"{POOLED}: fewer than {MIN_RECEIPTS_FOR_SAMPLES} receipts in {tried}")


async def product_supplier_lead_time(
    conn: asyncpg.Connection, product_id: UUID, warehouse_id: UUID
) -> tuple[UUID | None, float | None]:
    """The supplier replenishing a product at a warehouse (its reorder rule, else its latest PO) and
    the rule's lead time in days when the rule sets one. A deactivated supplier is passed over, as reorder
    proposals pass over its rules: until 2026-12-07 its last PO still named it and its lead time."""
    rule = await conn.fetchrow(
        "SELECT r.supplier_id, r.lead_time_days FROM app.reorder_rules r "
        "JOIN app.suppliers s ON s.tenant_id = r.tenant_id AND s.id = r.supplier_id "
        "WHERE r.product_id = $1 AND r.warehouse_id = $2 AND r.active AND s.active",
        product_id,
        warehouse_id,
    )
    if rule is not None:
        lead = rule["lead_time_days"]
        return rule["supplier_id"], float(lead) if lead is not None else None
    supplier = await conn.fetchval(
        """
        SELECT po.supplier_id FROM app.purchase_orders po
        JOIN app.purchase_order_lines l ON l.tenant_id = po.tenant_id AND l.purchase_order_id = po.id
        JOIN app.suppliers s ON s.tenant_id = po.tenant_id AND s.id = po.supplier_id
        WHERE l.product_id = $1 AND po.warehouse_id = $2 AND po.status <> 'cancelled' AND s.active
        ORDER BY po.created_at DESC LIMIT 1
        """,
        product_id,
        warehouse_id,
    )
    return supplier, None
