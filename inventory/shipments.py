"""Shipments and their tracking timelines (the carrier webhook's signature check is ``inventory.carrier_signatures``).

Status follows the timeline: the event that happened last (by ``occurred_at``, then arrival) sets it,
so a carrier's late-arriving "in transit" never overrides a newer "delayed". "delivered" is final:
events after it are refused, and so are events dated more than a day before the shipment was created. An outbound
shipment holds its lines' stock from its creation (``inventory.shipment_holds``); when it is delivered each line is
issued from its hold through the ledger, once, in the same transaction as the event. Lines of shipments created
before 2026-12-08 hold nothing: a user's delivery is refused when the stock is short; a carrier's is recorded anyway
(the goods are gone whatever our counts say, and a refused webhook is only retried until the carrier gives up): the
lines that fit are issued, the others wait, and a notification asks for the stock to be corrected and the rest
issued (``issue_stock``). A cancelled shipment takes no more events.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

import asyncpg

from common.errors import ConflictError, ExpiredValueError, InsufficientStockError, InvalidInputError, NotFoundError
from inventory import events, reservations, shipment_holds, shipment_orders, stock
from inventory.listing import KnownValues, Listing, ListQuery, Page
from inventory.records import write_refusals
from inventory.schemas import IssueCreate, MovementType
from inventory.shipment_schemas import ShipmentCreate, ShipmentDirection, ShipmentStatus, TrackingEventCreate
from inventory.stock import LedgerEntry

SHIPMENT_COLUMNS = (
    "id, number, direction, status, warehouse_id, purchase_order_id, order_reference, carrier, tracking_number, "
    "expected_delivery, delivered_at, stock_issued_at, created_by, created_at, updated_at"
)
# What a delivery does when the warehouse holds less than the shipment's lines: refuse it, or record it and
# leave the short lines to issue once the stock is corrected.
ShortStock = Literal["refuse", "defer"]
STOCK_SHORT_NOTIFICATION = "shipment.stock_short"
EVENT_COLUMNS = "id, shipment_id, event_type, occurred_at, location, description, external_id, source, created_at"
# The event a shipment's status follows, first: a delivery is final, "created" is only the baseline, then the one that
# happened last (then the last to arrive).
LATEST_EVENT_FIRST = "event_type = 'delivered' DESC, event_type <> 'created' DESC, occurred_at DESC, seq DESC"
# How long before a shipment was created an event of it may be dated: a carrier's clock or offset off, a pickup
# scanned shortly before the shipment was entered. Earlier is a wrong date (a delivery in 1950 issued stock then).
EARLIEST_EVENT_BEFORE_CREATION = timedelta(days=1)

SHIPMENTS = Listing(
    table="app.shipments",
    columns=tuple(c.strip() for c in SHIPMENT_COLUMNS.split(",")),
    sortable={"created_at": datetime, "updated_at": datetime, "number": str},
    default_sort="-created_at",
    equality_filters={
        "direction": "text",
        "status": "text",
        "warehouse_id": "uuid",
        "carrier": "text",
        "tracking_number": "text",
        "purchase_order_id": "uuid",
    },
    known_values={"direction": KnownValues.of(ShipmentDirection), "status": KnownValues.of(ShipmentStatus)},
    search_columns=("number", "tracking_number", "order_reference"),
)


async def create_shipment(conn: asyncpg.Connection, tenant_id: UUID, user_id: UUID, data: ShipmentCreate) -> dict:
    if data.direction is ShipmentDirection.OUTBOUND and not data.lines:
        raise InvalidInputError("an outbound shipment needs at least one line to issue on delivery", code="no_lines")
    if data.purchase_order_id is not None:
        lines = [line.product_id for line in data.lines]
        await shipment_orders.check_inbound_order(conn, data.purchase_order_id, data.warehouse_id, lines)
    with write_refusals(
        f"carrier {data.carrier} tracking number {data.tracking_number} is already on a shipment",
        {"purchase_order": None, "warehouse": None, "product": None},  # one shipment, many lines
        context=" on the shipment",
    ):
        created = await conn.fetchrow(
            """INSERT INTO app.shipments
                   (tenant_id, direction, warehouse_id, purchase_order_id, order_reference, carrier,
                    tracking_number, expected_delivery, created_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id, number, warehouse_id""",
            tenant_id,
            data.direction.value,
            data.warehouse_id,
            data.purchase_order_id,
            data.order_reference,
            data.carrier,
            data.tracking_number,
            data.expected_delivery,
            user_id,
        )
        assert created is not None
        shipment_id = created["id"]
        holds: list[tuple[UUID | None, bool]] = [(None, False)] * len(data.lines)
        if data.direction is ShipmentDirection.OUTBOUND:
            holds = list(await shipment_holds.hold_lines(conn, tenant_id, user_id, dict(created), data.lines))
        await conn.executemany(
            """INSERT INTO app.shipment_lines
                   (tenant_id, shipment_id, product_id, quantity, reservation_id, hold_placed)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            [
                (tenant_id, shipment_id, line.product_id, line.quantity, *hold)
                for line, hold in zip(data.lines, holds, strict=True)
            ],
        )
    await conn.execute(
        """INSERT INTO app.shipment_events (tenant_id, shipment_id, event_type, occurred_at, source, created_by)
           VALUES ($1, $2, 'created', now(), 'system', $3)""",
        tenant_id,
        shipment_id,
        user_id,
    )
    return await get_shipment(conn, shipment_id)


async def get_shipment(conn: asyncpg.Connection, shipment_id: UUID) -> dict:
    row = await conn.fetchrow(f"SELECT {SHIPMENT_COLUMNS} FROM app.shipments WHERE id = $1", shipment_id)
    if row is None:
        raise NotFoundError(f"shipment {shipment_id} not found")
    lines = await conn.fetch(
        "SELECT id, product_id, quantity, movement_id, reservation_id FROM app.shipment_lines WHERE shipment_id = $1 "
        "ORDER BY id",
        shipment_id,
    )
    return {**dict(row), "lines": [dict(line) for line in lines], "events": await timeline(conn, shipment_id)}


async def timeline(conn: asyncpg.Connection, shipment_id: UUID) -> list[dict]:
    rows = await conn.fetch(
        f"SELECT {EVENT_COLUMNS} FROM app.shipment_events WHERE shipment_id = $1 ORDER BY occurred_at, seq",
        shipment_id,
    )
    return [dict(r) for r in rows]


async def list_shipments(conn: asyncpg.Connection, query: ListQuery) -> Page:
    sql, params = SHIPMENTS.build(query)
    return SHIPMENTS.page(await conn.fetch(sql, *params), query)


async def find_by_tracking(conn: asyncpg.Connection, carrier: str, tracking_number: str) -> UUID:
    shipment_id = await conn.fetchval(
        "SELECT id FROM app.shipments WHERE carrier = $1 AND tracking_number = $2", carrier, tracking_number
    )
    if shipment_id is None:
        raise NotFoundError(f"no shipment with carrier {carrier} tracking number {tracking_number}")
    found: UUID = shipment_id
    return found


async def record_event(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    user_id: UUID,
    shipment_id: UUID,
    event: TrackingEventCreate,
    *,
    source: str,
    short_stock: ShortStock = "refuse",
) -> tuple[dict, bool]:
    """Append a tracking event; returns (the shipment afterwards, whether the event was new).

    ``short_stock="defer"`` records a delivery whose lines the warehouse cannot cover (see the module's note).
    """
    shipment = await conn.fetchrow(
        "SELECT id, number, direction, status, warehouse_id, delivered_at, created_at FROM app.shipments "
        "WHERE id = $1 FOR UPDATE",
        shipment_id,
    )
    if shipment is None:
        raise NotFoundError(f"shipment {shipment_id} not found")
    if shipment["status"] == "cancelled":
        raise ConflictError(
            f"shipment {shipment['number']} is cancelled; it takes no events", code="shipment_cancelled"
        )
    earliest = shipment["created_at"] - EARLIEST_EVENT_BEFORE_CREATION
    if event.occurred_at is not None and event.occurred_at < earliest:
        raise ExpiredValueError(
            f"occurred_at {event.occurred_at.isoformat()} is more than a day before shipment {shipment['number']} was "
            f"created ({shipment['created_at'].isoformat()})"
        )
    if event.event_id is not None:
        seen = await conn.fetchrow(
            "SELECT event_type, occurred_at FROM app.shipment_events WHERE shipment_id = $1 AND external_id = $2",
            shipment_id,
            event.event_id,
        )
        if seen is not None:
            if seen["event_type"] != event.type.value or event.occurred_at not in (None, seen["occurred_at"]):
                raise ConflictError(
                    f"event_id {event.event_id!r} was a {seen['event_type']} event at "
                    f"{seen['occurred_at'].isoformat()}: a different event needs its own id",
                    code="event_id_reused",
                )
            return await get_shipment(conn, shipment_id), False
    # An event from before the delivery that arrives after it (carriers resend and reorder) joins the timeline and
    # leaves the shipment delivered; anything later, or a second delivery, is refused.
    late = shipment["status"] == "delivered"
    if late and (
        event.type.value == "delivered" or not event.occurred_at or event.occurred_at > shipment["delivered_at"]
    ):
        raise ConflictError(
            f"shipment {shipment['number']} is delivered; its timeline is closed", code="shipment_delivered"
        )
    occurred_at = event.occurred_at or await conn.fetchval("SELECT now()")
    await conn.execute(
        """INSERT INTO app.shipment_events
               (tenant_id, shipment_id, event_type, occurred_at, location, description, external_id, source,
                created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        tenant_id,
        shipment_id,
        event.type.value,
        occurred_at,
        event.location,
        event.description,
        event.event_id,
        source,
        user_id,
    )
    if late or event.type.value == "delivered":
        status = "delivered"
    else:
        status = await conn.fetchval(
            f"SELECT event_type FROM app.shipment_events WHERE shipment_id = $1 ORDER BY {LATEST_EVENT_FIRST} LIMIT 1",
            shipment_id,
        )
    await conn.execute(
        """UPDATE app.shipments SET status = $2, updated_at = now(),
                  delivered_at = CASE WHEN $2 = 'delivered' THEN coalesce(delivered_at, $3) ELSE delivered_at END
           WHERE id = $1""",
        shipment_id,
        status,
        occurred_at,
    )
    if not late and status == "delivered" and shipment["direction"] == "outbound":
        short = await _issue_stock(
            conn, tenant_id, user_id, dict(shipment), occurred_at, defer_short=short_stock == "defer"
        )
        if short:
            await _notify_short_stock(conn, tenant_id, dict(shipment), short)
    await events.publish(
        conn,
        tenant_id,
        events.SHIPMENT_EVENT,
        {
            "shipment_id": shipment_id,
            "number": shipment["number"],
            "event_type": event.type.value,
            "status": status,
            "occurred_at": occurred_at,
        },
    )
    return await get_shipment(conn, shipment_id), True


async def issue_stock(conn: asyncpg.Connection, tenant_id: UUID, user_id: UUID, shipment_id: UUID) -> dict:
    """Issue what a delivered outbound shipment has not issued yet (after a carrier's delivery met short stock);
    refused while the stock is still short. Nothing to issue leaves the shipment as it is."""
    shipment = await conn.fetchrow(
        "SELECT id, number, direction, status, warehouse_id, stock_issued_at, delivered_at FROM app.shipments "
        "WHERE id = $1 FOR UPDATE",
        shipment_id,
    )
    if shipment is None:
        raise NotFoundError(f"shipment {shipment_id} not found")
    if shipment["direction"] != "outbound" or shipment["status"] != "delivered":
        raise ConflictError(
            f"shipment {shipment['number']} is {shipment['direction']} and {shipment['status']}: only a delivered "
            "outbound shipment issues stock",
            code="invalid_state",
        )
    if shipment["stock_issued_at"] is None:
        await _issue_stock(conn, tenant_id, user_id, dict(shipment), shipment["delivered_at"], defer_short=False)
    return await get_shipment(conn, shipment_id)


async def _issue_stock(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    user_id: UUID,
    shipment: dict,
    delivered_at: datetime | None,
    *,
    defer_short: bool,
) -> list[dict]:
    """Issue the lines not issued yet, dated when the shipment was delivered (its demand falls on that day, as a
    receipt's stock on its own); returns the ones left for short stock (only when ``defer_short``)."""
    lines = await conn.fetch(
        "SELECT id, product_id, quantity, reservation_id FROM app.shipment_lines "
        "WHERE shipment_id = $1 AND movement_id IS NULL ORDER BY product_id, id",
        shipment["id"],
    )
    short: list[dict] = []
    for line in lines:
        if line["reservation_id"] is not None:  # held since the shipment was created: the hold covers it
            entry = LedgerEntry(
                product_id=line["product_id"], warehouse_id=shipment["warehouse_id"], movement_type="issue",
                quantity=-line["quantity"], reference=f"shipment {shipment['number']}", occurred_at=delivered_at,
            )  # fmt: skip
            row = await reservations.take_for_shipment(conn, tenant_id, user_id, line["reservation_id"], entry)
            await conn.execute("UPDATE app.shipment_lines SET movement_id = $2 WHERE id = $1", line["id"], row["id"])
            continue
        issue = IssueCreate(
            type=MovementType.ISSUE,
            product_id=line["product_id"],
            warehouse_id=shipment["warehouse_id"],
            quantity=line["quantity"],
            reference=f"shipment {shipment['number']}",
            occurred_at=delivered_at,
        )
        try:
            async with conn.transaction():  # a savepoint: a short line leaves the others to issue
                rows, _ = await stock.record_movement(conn, tenant_id, user_id, issue)
        except InsufficientStockError as exc:
            if not defer_short:
                raise
            short.append({"line_id": str(line["id"]), "product_id": str(line["product_id"]), "reason": exc.message})
            continue
        await conn.execute("UPDATE app.shipment_lines SET movement_id = $2 WHERE id = $1", line["id"], rows[0]["id"])
    if not short:
        await conn.execute("UPDATE app.shipments SET stock_issued_at = now() WHERE id = $1", shipment["id"])
    return short


async def _notify_short_stock(conn: asyncpg.Connection, tenant_id: UUID, shipment: dict, short: list[dict]) -> None:
    title = (
        f"Shipment {shipment['number']} was delivered, but {len(short)} of its lines could not be issued: less is "
        "available (on hand less what is reserved) than they take. Correct the stock or release holds, then issue "
        f"the rest (POST /api/v1/shipments/{shipment['id']}/issue-stock)."
    )
    data = {"shipment_id": str(shipment["id"]), "number": shipment["number"], "lines": short}
    await conn.execute(
        "INSERT INTO app.notifications (tenant_id, kind, title, data) VALUES ($1, $2, $3, $4)",
        tenant_id,
        STOCK_SHORT_NOTIFICATION,
        title[:300],
        data,
    )
