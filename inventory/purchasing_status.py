"""The purchase order life cycle in one place: which status may follow which, what each one stamps, and the
event each change publishes.

Every status change goes through ``advance``, whether a user acts through the API (``inventory.purchasing``)
or an ERP reports the order moved (``integrations.apply_orders``), so both publish the same
``purchase_order.status_changed`` events. The database trigger ``app.check_purchase_order_transition``
enforces the same table as a backstop.

The states follow Odoo's purchase flow: an order can be cancelled until something is received; after
that, what is still missing is a backorder that stays open until received or written off
(``close_backorder``, Odoo's "No backorder").
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from common.config import ERP_PUSH_DEADLINE_MAX_S
from common.errors import ConflictError, NotFoundError
from inventory import events
from inventory.purchasing_schemas import PurchaseOrderStatus
from inventory.records import refuse_inactive
from inventory.shipment_orders import refuse_cancel_while_shipped

Status = PurchaseOrderStatus

# What each status may move to in one step (the purchasing trigger of 0161_baseline.sql says the same).
NEXT: dict[Status, tuple[Status, ...]] = {
    Status.DRAFT: (Status.ISSUED, Status.CANCELLED),
    Status.ISSUED: (Status.PARTIALLY_RECEIVED, Status.RECEIVED, Status.CANCELLED),
    Status.PARTIALLY_RECEIVED: (Status.RECEIVED,),
    Status.RECEIVED: (),
    Status.CANCELLED: (),
}

# A push's ERP work stops at its deadline (integrations.push), but its claim stays, as it does where the connection
# dropped during the create, a gateway answered it 502/504, or the push was cancelled: the ERP may still be creating
# the order. The margin gives the ERP that time, and covers the transactions around the ERP call and clocks. A claim
# older than deadline + margin belongs to such a push or one whose process died: another push may take it over.
PUSH_CLAIM_MARGIN = timedelta(seconds=60)


def push_claim_takeover(deadline_s: float) -> timedelta:
    """The age past which a push claim (migration 0127) made under ``deadline_s`` is a dead process's."""
    return timedelta(seconds=deadline_s) + PUSH_CLAIM_MARGIN


# Edits here do not know the deadline the pushing process was given: they take the longest one a deployment may set,
# so a live push's claim always holds the order against them.
PUSH_CLAIM_TAKEOVER = push_claim_takeover(ERP_PUSH_DEADLINE_MAX_S)

# The timestamp column a status sets when an order reaches it.
STAMPS: dict[Status, str] = {
    Status.ISSUED: "issued_at",
    Status.RECEIVED: "received_at",
    Status.CANCELLED: "cancelled_at",
}


class InvalidStateError(ConflictError):
    """The order's status does not allow what was asked (the life cycle has no way there, or no edits)."""

    code = "invalid_state"


def allowed_from(target: Status) -> frozenset[Status]:
    """The statuses an order may be in to move to ``target`` in one step."""
    return frozenset(status for status, following in NEXT.items() if target in following)


def path(current: Status | str, target: Status, *, number: str = "the order") -> list[Status]:
    """The fewest steps from ``current`` to ``target`` (empty when already there).

    An ERP may report a jump (draft straight to received); the steps in between are the ones Chainsight's
    own actions would have taken. ``partially_received`` is never a stop on the way: it is only reached
    when it is the target.
    """
    start = Status(current)
    if start == target:
        return []
    routes: dict[Status, list[Status]] = {start: []}
    frontier = [start]
    while frontier:
        reached = []
        for status in frontier:
            for following in NEXT[status]:
                if following not in routes:
                    routes[following] = [*routes[status], following]
                    reached.append(following)
        if target in routes:
            return routes[target]
        frontier = reached
    raise InvalidStateError(
        f"purchase order {number} is {start.value} and cannot become {target.value}",
        details={"status": start.value, "requested": target.value},
    )


def stamps_on_arrival(target: Status) -> list[str]:
    """The timestamp columns an order first recorded already in ``target`` carries: those of every step
    from draft (a received order was also issued)."""
    return [STAMPS[step] for step in path(Status.DRAFT, target) if step in STAMPS]


async def lock_order(
    conn: asyncpg.Connection, order_id: UUID, allowed: frozenset[PurchaseOrderStatus], action: str
) -> dict:
    """Lock the order for the rest of the transaction and check its status allows ``action``; returns
    the row (``id``, ``number``, ``status``, ``supplier_id``, ``warehouse_id``, ``currency``,
    ``over_receipt_tolerance_pct``, and for ``refuse_erp_managed`` ``erp_connector`` and ``pushing_to``)."""
    row = await conn.fetchrow(
        """SELECT id, number, status, supplier_id, warehouse_id, currency, over_receipt_tolerance_pct
           FROM app.purchase_orders WHERE id = $1 FOR UPDATE""",
        order_id,
    )
    if row is None:
        raise NotFoundError(f"purchase order {order_id} not found")
    status = Status(row["status"])
    if status not in allowed:
        permitted = ", ".join(sorted(s.value for s in allowed))
        raise InvalidStateError(
            f"purchase order {row['number']} is {status.value}; it can be {action} only when {permitted}",
            details={"status": status.value, "allowed_from": sorted(s.value for s in allowed)},
        )
    # A statement of its own, so that it sees what committed while the lock was awaited: a push claims the order
    # holding this lock (integrations.push), and its claim and then its link must not be missed.
    held = await conn.fetchrow(
        """SELECT -- Per connector (a tenant has few) one probe of the external ids' (tenant, connector, entity,
                  -- local) index, not a scan of every id the tenant's syncs remember; the same for the claims.
                  (SELECT c.name FROM app.integration_connectors c
                   JOIN app.integration_external_ids x ON x.tenant_id = c.tenant_id AND x.connector_id = c.id
                        AND x.entity = 'purchase_orders' AND x.local_id = po.id
                   WHERE c.tenant_id = po.tenant_id LIMIT 1) AS erp_connector,
                  (SELECT c.name FROM app.integration_connectors c
                   JOIN app.integration_push_claims k ON k.tenant_id = c.tenant_id AND k.connector_id = c.id
                        AND k.purchase_order_id = po.id
                   WHERE c.tenant_id = po.tenant_id AND k.claimed_at >= now() - $2::interval
                   LIMIT 1) AS pushing_to
           FROM app.purchase_orders po WHERE po.id = $1""",
        order_id,
        PUSH_CLAIM_TAKEOVER,
    )
    assert held is not None  # the order is locked: it cannot have gone since
    return {**dict(row), **dict(held)}


async def lock_to_cancel(conn: asyncpg.Connection, order_id: UUID, allowed: frozenset[PurchaseOrderStatus]) -> dict:
    """``lock_order`` for a cancel, refused also for an order kept in an ERP and one a shipment brings
    (``inventory.shipment_orders``)."""
    order = await lock_order(conn, order_id, allowed, "cancelled")
    refuse_erp_managed(order, "cancelled")
    await refuse_cancel_while_shipped(conn, order)
    return order


def refuse_erp_managed(order: dict, action: str) -> None:
    """An order an ERP holds (synced from it, or pushed to it) is received and cancelled there: the sync brings
    its receipts and status back, and overwrote what a receipt here had counted (stock counted twice, or lost).
    An order being pushed may be the ERP's in a moment: until the ERP has answered, it is refused too."""
    if order["erp_connector"] is not None:
        raise ConflictError(
            f"purchase order {order['number']} is kept in the ERP ({order['erp_connector']}): it is {action} "
            "there, and the next sync brings that here",
            code="erp_managed",
        )
    if order["pushing_to"] is not None:
        raise ConflictError(
            f"purchase order {order['number']} is being pushed to {order['pushing_to']}: try again when it has "
            f"answered, {PUSH_CLAIM_TAKEOVER.total_seconds():g} s after the push began at the latest (once the ERP "
            f"holds the order, it is {action} there)",
            code="push_in_progress",
        )


async def refuse_inactive_references(conn: asyncpg.Connection, order: Mapping[str, Any] | asyncpg.Record) -> None:
    """409 ``inactive_<kind>`` for a draft (``id``, ``supplier_id``, ``warehouse_id``) whose supplier, warehouse or a
    product was deactivated since it was written (a reorder draft, say): issued here, or by the ERP it is pushed to
    (``integrations.push``), it would go out all the same."""
    for kind in ("supplier", "warehouse"):
        await refuse_inactive(conn, kind, order[f"{kind}_id"])
    inactive_product = await conn.fetchval(
        """SELECT l.product_id FROM app.purchase_order_lines l JOIN app.products p ON p.id = l.product_id
           WHERE l.purchase_order_id = $1 AND NOT p.active ORDER BY l.line_no LIMIT 1""",
        order["id"],
    )
    await refuse_inactive(conn, "product", inactive_product)  # None (every product active) passes


async def advance(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    order: Mapping[str, Any],
    target: Status,
    *,
    source: str = "api",
    at: datetime | None = None,
) -> list[Status]:
    """Move a locked order (a row with ``id``, ``number`` and ``status``) to ``target`` step by step: each
    step sets the status and its timestamp (``at``, when the step happened, as a backdated receipt's time; now
    without one) and publishes ``purchase_order.status_changed`` (delivered when the caller's transaction
    commits). ``source`` says who moved it: ``api`` or ``erp:<connector>``.
    Returns the steps taken; none when the order is already in ``target`` (only ``updated_at`` moves)."""
    steps = path(order["status"], target, number=order["number"])
    if not steps:
        await conn.execute("UPDATE app.purchase_orders SET updated_at = now() WHERE id = $1", order["id"])
        return steps
    previous = Status(order["status"])
    for step in steps:
        stamp = f", {STAMPS[step]} = coalesce($3, now())" if step in STAMPS else ""
        await conn.execute(
            f"UPDATE app.purchase_orders SET status = $2, updated_at = now(){stamp} WHERE id = $1",
            order["id"],
            step.value,
            *((at,) if stamp else ()),
        )
        await events.publish(
            conn,
            tenant_id,
            events.PURCHASE_ORDER_STATUS,
            {
                "purchase_order_id": order["id"],
                "number": order["number"],
                "from": previous.value,
                "to": step.value,
                "source": source,
            },
        )
        previous = step
    return steps
