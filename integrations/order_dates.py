"""An ERP's purchase order dated by the ERP's own order date (see ``PurchaseOrderRecord.ordered_at``).

An order made in an ERP was issued there: the sync that first saw it issued is only when Chainsight learnt of it,
days later for an order placed before the connector was set up or synced late. Its ``issued_at`` is what the
price history dates its prices by (0156), lead times count from (``training.supplier_history``) and the risk
model's delivery history orders it by, so the ERP's date replaces the sync's once the order is issued here.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from integrations.records import PurchaseOrderRecord


async def date_erp_issue(conn: asyncpg.Connection, order_id: UUID, model: PurchaseOrderRecord, origin: str) -> None:
    """The issue time of an order the ERP made (``origin``, not one pushed from here, which was issued here),
    once it is issued: the ERP's, never later than the time it has (an ERP's date ahead of the clock, or a
    confirmation repeated in the ERP, moves nothing). A confirmation time (Odoo's) always counts; a day alone
    (Business Central's, SAP's, NetSuite's, as the receiving warehouse's midnight, UTC without a zone) is the day
    the document was made, so it counts only for an order first recorded here already issued (``issued_at`` not
    after ``created_at``): one seen here as a draft keeps the sync that saw it released, else its lead time would
    count the wait for approval. Idempotent, and writes nothing once dated: run on every sync of the order."""
    if model.ordered_at is None and model.ordered_on is None:
        return
    await conn.execute(
        """UPDATE app.purchase_orders po SET issued_at = d.at
           FROM app.warehouses w
           CROSS JOIN LATERAL (SELECT coalesce($2::timestamptz,
                                               $3::date::timestamp AT TIME ZONE coalesce(w.timezone, 'UTC')) AS at) d
           WHERE po.id = $1 AND w.tenant_id = po.tenant_id AND w.id = po.warehouse_id AND po.origin = $4
             AND po.issued_at > d.at AND ($2::timestamptz IS NOT NULL OR po.issued_at <= po.created_at)""",
        order_id,
        model.ordered_at,
        model.ordered_on,
        origin,
    )
