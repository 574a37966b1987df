"""Closing the orders an ERP deleted: Business Central deletes an order once it is fully received and invoiced, and
Odoo a draft RFQ someone deleted. Neither sends a record of the deletion, so the order sync never reads it again.

After a complete read of the connector's orders, the ERP is asked which of the orders still open here (by their ERP
ids) it no longer holds (``Connector.gone_orders``: a complete answer, or an error that closes nothing). Each gone
order takes the life cycle's transition (``inventory.purchasing_status``, its events with ``source`` ``erp:<name>``):
one the ERP received in full becomes received, its lines received in full with no receipt movements (the stock came
with the stock sync, as for any ERP receipt); any other is cancelled, or, once partly received, received with its
backorder closed, as "No backorder" closes it here. A closed order's fingerprint is forgotten, so the order, read
again (an ERP that holds it again), is applied again and, being closed here, is dead-lettered, not "unchanged".

An ERP order gone without proof of its receipt (cancelled here) is rarely one of many: more than ``max(10, 10%)`` of
the connector's open orders at once is taken for a permission or configuration problem (a company the API user lost,
another company or database), not deletions, and none is closed: the run fails, naming them, and is announced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import asyncpg

from common.database import Database
from integrations.apply import Counts
from integrations.connector import Connector
from integrations.errors import ConnectorError
from integrations.external_ids import SyncScope
from integrations.records import Entity
from inventory import purchasing_status as lifecycle

Status = lifecycle.Status
OPEN = (Status.DRAFT.value, Status.ISSUED.value, Status.PARTIALLY_RECEIVED.value)


class OrdersGoneEnMasse(ConnectorError):
    """More of the connector's open orders gone from the ERP at once than deletions explain: none is closed."""

    code = "erp_orders_gone_en_masse"


def most_closed_at_once(open_orders: int) -> int:
    """How many open orders may close at once without proof of receipt: 10, or 10% of them where that is more."""
    return max(10, open_orders // 10)


async def reconcile_orders(
    database: Database, claims: dict[str, Any], tenant_id: UUID, scope: SyncScope, connector: Connector
) -> Counts:
    """Close the connector's open orders its ERP no longer holds; returns them as updated.

    The orders are read here before the ERP is asked, so an order pushed meanwhile, which the ERP's answer might not
    hold yet, is not among them."""
    known: dict[str, str] = await database.run(claims, tenant_id, lambda tx: open_orders(tx.conn, scope))
    if not known:
        return Counts()
    gone = await connector.gone_orders(known)
    if not gone:
        return Counts()
    unproven = sorted(known[order_id] for order_id, ended in gone.items() if ended is not Status.RECEIVED)
    if len(unproven) > (limit := most_closed_at_once(len(known))):
        named = ", ".join(unproven[:10]) + (", ..." if len(unproven) > 10 else "")
        raise OrdersGoneEnMasse(
            f"{connector.vendor} no longer holds {len(unproven)} of the {len(known)} orders open here ({named}): more "
            f"than {limit} at once is taken for a permission or configuration problem (a company the API user lost, "
            "another company or database), not deletions, and none is closed; give the access back, or cancel here "
            "the orders the ERP deleted"
        )
    closing: Counts = await database.run(claims, tenant_id, lambda tx: close_gone_orders(tx.conn, scope, gone))
    return closing


async def open_orders(conn: asyncpg.Connection, scope: SyncScope) -> dict[str, str]:
    """The ERP ids of the connector's orders open here, with their numbers."""
    rows = await conn.fetch(
        """SELECT m.external_id, po.number FROM app.integration_external_ids m
           JOIN app.purchase_orders po ON po.id = m.local_id
           WHERE m.connector_id = $1 AND m.entity = $2 AND po.status = ANY($3::text[])""",
        scope.connector_id,
        Entity.PURCHASE_ORDERS.value,
        list(OPEN),
    )
    return {row["external_id"]: row["number"] for row in rows}


async def close_gone_orders(conn: asyncpg.Connection, scope: SyncScope, gone: Mapping[str, Status]) -> Counts:
    counts = Counts()
    for external_id, ended in sorted(gone.items()):
        order = await conn.fetchrow(
            """SELECT po.id, po.number, po.status FROM app.integration_external_ids m
               JOIN app.purchase_orders po ON po.id = m.local_id
               WHERE m.connector_id = $1 AND m.entity = $2 AND m.external_id = $3 FOR UPDATE OF po""",
            scope.connector_id,
            Entity.PURCHASE_ORDERS.value,
            external_id,
        )
        if order is None or order["status"] not in OPEN:  # closed meanwhile
            continue
        # The lines before the status, as the order sync writes them: the low-stock alert on lines weighs those of
        # open orders.
        if ended is Status.RECEIVED:
            await _received_in_full(conn, order["id"])
            target = Status.RECEIVED
        elif order["status"] == Status.PARTIALLY_RECEIVED.value:  # what came stays; the rest comes no more
            await conn.execute(
                """UPDATE app.purchase_order_lines
                   SET cancelled_base = greatest(quantity_base - received_base, 0), updated_at = now()
                   WHERE purchase_order_id = $1 AND received_base + cancelled_base < quantity_base""",
                order["id"],
            )
            target = Status.RECEIVED
        else:
            target = Status.CANCELLED
        await lifecycle.advance(conn, scope.tenant_id, dict(order), target, source=scope.origin)
        # A dead letter of the order (a change it could not take) is past: the ERP holds the order no more.
        await conn.execute(
            """UPDATE app.integration_dead_letters SET resolved_at = now()
               WHERE connector_id = $1 AND entity = $2 AND external_id = $3 AND resolved_at IS NULL""",
            scope.connector_id,
            Entity.PURCHASE_ORDERS.value,
            external_id,
        )
        # Forgotten: the order read again (the ERP holds it again) is applied again, and dead-lettered as it is
        # closed here, rather than found unchanged and left closed unseen.
        await conn.execute(
            """UPDATE app.integration_external_ids SET fingerprint = NULL
               WHERE connector_id = $1 AND entity = $2 AND external_id = $3""",
            scope.connector_id,
            Entity.PURCHASE_ORDERS.value,
            external_id,
        )
        counts.updated += 1
    return counts


async def _received_in_full(conn: asyncpg.Connection, order_id: UUID) -> None:
    """Every line's open rest received, as an ERP receipt the order sync reads is: no movement (the stock sync brings
    the goods), the receipt stamped as found now (``integrations.order_lines``)."""
    await conn.execute(
        """UPDATE app.purchase_order_lines
           SET received_base = quantity_base - cancelled_base, erp_received_at = now(),
               erp_first_received_at = coalesce(erp_first_received_at, CASE WHEN received_base = 0 THEN now() END),
               updated_at = now()
           WHERE purchase_order_id = $1 AND received_base + cancelled_base < quantity_base""",
        order_id,
    )
