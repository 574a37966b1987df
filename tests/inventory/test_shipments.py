"""Shipments: tracking timelines, delivery issuing stock, the webhook signature check, webhook keys and event ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from common.config import DEVELOPMENT_INTEGRATIONS_KEY
from common.database import TenantTransaction
from common.errors import ConflictError, InsufficientStockError, InvalidInputError
from integrations.crypto import cipher_from_key
from inventory import open_shipments, shipments, stock, webhook_keys
from inventory.schemas import IssueCreate, MovementType
from inventory.shipment_schemas import ShipmentCreate, TrackingEventCreate
from tests.common.unheld_shipments import as_made_before_holds

# Recent: an event dated more than a day before its shipment was created is refused.
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=12)


async def new_shipment(database, tenant, direction="outbound", quantity=4, tracking="TRK-1") -> dict:
    body = ShipmentCreate.model_validate(
        {
            "direction": direction,
            "warehouse_id": tenant.warehouses[0],
            "carrier": "DHL",
            "tracking_number": tracking,
            "order_reference": "SO-1001",
            "lines": [{"product_id": tenant.products[0], "quantity": quantity}] if quantity else [],
        }
    )

    async def op(tx: TenantTransaction):
        return await shipments.create_shipment(tx.conn, tx.tenant_id, tx.user_id, body)

    return await database.run(tenant.claims(), None, op)


async def track(database, tenant, shipment, kind, at=None, event_id=None, description=None):
    event = TrackingEventCreate.model_validate(
        {"type": kind, "occurred_at": at, "event_id": event_id, "description": description}
    )

    async def op(tx: TenantTransaction):
        return await shipments.record_event(tx.conn, tx.tenant_id, tx.user_id, shipment["id"], event, source="api")

    return await database.run(tenant.claims(), None, op)


async def on_hand(database, tenant) -> Decimal:
    async def op(tx: TenantTransaction):
        return (await stock.get_level(tx.conn, tenant.products[0], tenant.warehouses[0]))["on_hand"]

    result: Decimal = await database.run(tenant.claims(), None, op)
    return result


async def test_the_timeline_is_ordered_by_when_events_happened_not_when_they_arrived(database, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(10)})
    shipment = await new_shipment(database, tenant)
    await track(database, tenant, shipment, "in_transit", T0 + timedelta(hours=5))
    after, _ = await track(database, tenant, shipment, "picked_up", T0 + timedelta(hours=1))  # arrives late
    kinds = [e["event_type"] for e in after["events"] if e["event_type"] != "created"]
    assert kinds == ["picked_up", "in_transit"]
    assert after["status"] == "in_transit"  # the late, older event does not roll the status back
    later, _ = await track(database, tenant, shipment, "delayed", T0 + timedelta(hours=9))
    assert later["status"] == "delayed"


async def test_delivering_an_outbound_shipment_issues_its_lines_once(database, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(10)})
    shipment = await new_shipment(database, tenant, quantity=4)
    delivered, recorded = await track(database, tenant, shipment, "delivered", T0, event_id="dhl-9")
    assert recorded and delivered["status"] == "delivered"
    assert delivered["stock_issued_at"] is not None and delivered["lines"][0]["movement_id"] is not None
    assert await on_hand(database, tenant) == 6
    replay, recorded_again = await track(database, tenant, shipment, "delivered", T0, event_id="dhl-9")
    assert not recorded_again and replay["status"] == "delivered"
    assert await on_hand(database, tenant) == 6


async def test_a_deliverys_stock_issue_is_dated_when_it_was_delivered(database, make_tenant, owner_pool):
    # Before, the issue was dated when the event was recorded: a delivery reported days later put its demand
    # on the wrong day of the history the forecasts read.
    tenant = await make_tenant(stock={0: Decimal(10)})
    shipment = await new_shipment(database, tenant, quantity=4)
    delivered, _ = await track(database, tenant, shipment, "delivered", T0)
    movement = delivered["lines"][0]["movement_id"]
    occurred = await owner_pool.fetchval("SELECT occurred_at FROM app.stock_movements WHERE id = $1", movement)
    assert occurred == delivered["delivered_at"] == T0


async def test_events_after_delivery_are_refused(database, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(10)})
    shipment = await new_shipment(database, tenant)
    await track(database, tenant, shipment, "delivered", T0)
    with pytest.raises(ConflictError) as refused:
        await track(database, tenant, shipment, "exception", T0 + timedelta(hours=1))
    assert refused.value.code == "shipment_delivered"


async def test_an_event_from_before_the_delivery_arriving_after_it_joins_the_timeline(database, make_tenant):
    # Before, it was refused (409), and a carrier resending out of order retried it until it gave up.
    tenant = await make_tenant(stock={0: Decimal(10)})
    shipment = await new_shipment(database, tenant)
    await track(database, tenant, shipment, "delivered", T0 + timedelta(hours=5))
    after, recorded = await track(database, tenant, shipment, "in_transit", T0 + timedelta(hours=1), event_id="late")
    assert recorded and (after["status"], after["delivered_at"]) == ("delivered", T0 + timedelta(hours=5))
    assert [e["event_type"] for e in after["events"] if e["event_type"] != "created"] == ["in_transit", "delivered"]
    assert await on_hand(database, tenant) == 6  # issued once
    with pytest.raises(ConflictError):  # a second delivery is no older event
        await track(database, tenant, shipment, "delivered", T0)


async def test_an_event_id_reused_for_a_different_event_is_refused(database, make_tenant):
    # Before, the second event was dropped as a repeat: 201, no delivery, no stock issued.
    tenant = await make_tenant(stock={0: Decimal(10)})
    shipment = await new_shipment(database, tenant)
    await track(database, tenant, shipment, "in_transit", T0, event_id="ev-1")
    with pytest.raises(ConflictError) as refused:
        await track(database, tenant, shipment, "delivered", T0 + timedelta(hours=2), event_id="ev-1")
    assert refused.value.code == "event_id_reused"
    _, recorded = await track(database, tenant, shipment, "in_transit", T0, event_id="ev-1")
    assert not recorded  # the same event again is a repeat


def test_an_event_dated_more_than_a_day_ahead_is_refused():
    # The status is the newest event's, so a glitch dated in 2099 would hold it against every real event.
    ahead = datetime.now(UTC) + timedelta(days=1, hours=1)
    with pytest.raises(ValueError, match="is more than a day in the future"):
        TrackingEventCreate.model_validate({"type": "exception", "occurred_at": ahead})
    soon = datetime.now(UTC) + timedelta(hours=23)  # a carrier's clock or offset a few hours off
    assert TrackingEventCreate.model_validate({"type": "in_transit", "occurred_at": soon}).occurred_at == soon


async def test_delivery_without_enough_stock_is_refused_and_records_nothing(database, make_tenant, owner_pool):
    # Only a shipment made before 2026-12-08 holds nothing and can find the stock short when it is delivered.
    tenant = await make_tenant(stock={0: Decimal(5)})
    shipment = await new_shipment(database, tenant, quantity=5)
    await as_made_before_holds(owner_pool, shipment["id"])
    issue = IssueCreate(
        type=MovementType.ISSUE, product_id=tenant.products[0], warehouse_id=tenant.warehouses[0], quantity=3
    )

    async def take(tx: TenantTransaction):
        return await stock.record_movement(tx.conn, tx.tenant_id, tx.user_id, issue)

    await database.run(tenant.claims(), None, take)
    with pytest.raises(InsufficientStockError):
        await track(database, tenant, shipment, "delivered", T0)
    assert await on_hand(database, tenant) == 2

    async def op(tx: TenantTransaction):
        return await shipments.get_shipment(tx.conn, shipment["id"])

    current = await database.run(tenant.claims(), None, op)
    assert (current["status"], len(current["events"])) == ("created", 1)


async def test_an_inbound_delivery_does_not_touch_stock(database, make_tenant):
    tenant = await make_tenant()
    shipment = await new_shipment(database, tenant, direction="inbound", quantity=0)
    delivered, _ = await track(database, tenant, shipment, "delivered", T0)
    assert delivered["stock_issued_at"] is None
    assert await on_hand(database, tenant) == 0


async def test_an_outbound_shipment_without_lines_is_refused(database, make_tenant):
    tenant = await make_tenant()
    with pytest.raises(InvalidInputError):
        await new_shipment(database, tenant, quantity=0)


async def test_a_tracking_number_is_used_once_per_carrier(database, make_tenant):
    tenant = await make_tenant()
    await new_shipment(database, tenant, direction="inbound", quantity=0, tracking="DUP-1")
    with pytest.raises(ConflictError):
        await new_shipment(database, tenant, direction="inbound", quantity=0, tracking="DUP-1")


async def test_webhook_keys_are_stored_encrypted_and_hidden_from_planners_by_row_level_security(
    database, make_tenant, owner_pool
):
    tenant = await make_tenant()
    cipher = cipher_from_key(DEVELOPMENT_INTEGRATIONS_KEY)

    async def create(tx: TenantTransaction):
        return await webhook_keys.create_key(tx, "DHL", cipher)

    key = await database.run(tenant.claims(tenant.admin), None, create)

    async def count(tx: TenantTransaction):
        return await tx.conn.fetchval("SELECT count(*) FROM app.carrier_webhook_keys")

    assert await database.run(tenant.claims(tenant.planner), None, count) == 0
    async with owner_pool.acquire() as conn:
        stored = bytes(await conn.fetchval("SELECT secret FROM app.carrier_webhook_keys WHERE id = $1", key["id"]))
        assert key["secret"].encode() not in stored
        assert await webhook_keys.active_key(conn, key["id"], cipher) == (tenant.id, key["secret"])


async def test_an_event_id_is_claimed_once_per_tenant_and_refused_for_a_different_body(database, make_tenant):
    ours, theirs = await make_tenant(), await make_tenant()
    cipher = cipher_from_key(DEVELOPMENT_INTEGRATIONS_KEY)
    claims, shipment_ids = [], []
    for tenant in (ours, ours, theirs):
        shipment = await new_shipment(database, tenant, direction="inbound", quantity=0, tracking=f"C-{len(claims)}")
        shipment_ids.append(shipment["id"])

        async def claim(tx: TenantTransaction, shipment_id=shipment["id"]):
            key = await webhook_keys.create_key(tx, "DHL", cipher)
            return await webhook_keys.claim_event(tx, "evt-1", key["id"], "digest-a", shipment_id)

        claims.append(await database.run(tenant.claims(tenant.admin), None, claim))
    assert claims == [True, False, True]  # a repeat in our tenant; their tenant has its own event ids

    async def reuse(tx: TenantTransaction):
        key = await webhook_keys.create_key(tx, "DHL", cipher)
        return await webhook_keys.claim_event(tx, "evt-1", key["id"], "digest-b", shipment_ids[0])

    with pytest.raises(ConflictError, match="different event"):
        await database.run(ours.claims(ours.admin), None, reuse)


async def test_a_shipment_is_overdue_on_its_warehouses_calendar_or_the_readers_without_a_zone(
    database, owner_pool, make_tenant
):
    tenant = await make_tenant(stock={0: Decimal(10), 1: Decimal(10)})
    await owner_pool.execute("UPDATE app.warehouses SET timezone = 'Etc/GMT-14' WHERE id = $1", tenant.warehouses[0])
    dock_today = datetime.now(ZoneInfo("Etc/GMT-14")).date()
    readers_day = dock_today - timedelta(days=3)  # anything: it counts only where the warehouse has no zone
    zoned = await new_shipment(database, tenant, tracking="TRK-Z")
    unzoned = await new_shipment(database, tenant, tracking="TRK-U")
    await owner_pool.execute(
        "UPDATE app.shipments SET expected_delivery = $2, warehouse_id = $3 WHERE id = $1",
        unzoned["id"], readers_day - timedelta(days=2), tenant.warehouses[1],
    )  # fmt: skip
    await owner_pool.execute(
        "UPDATE app.shipments SET expected_delivery = $2 WHERE id = $1", zoned["id"], dock_today - timedelta(days=1)
    )

    async def overdue(tx: TenantTransaction):
        return await open_shipments.open_shipments(tx.conn, readers_day, delayed_only=True)

    found = await database.run(tenant.claims(), None, overdue)
    assert {(s["number"], s["days_overdue"]) for s in found} == {(zoned["number"], 1), (unzoned["number"], 2)}


async def test_a_delayed_shipment_comes_before_shipments_without_an_expected_delivery(database, make_tenant):
    # Before, "delayed" was NULL without an expected delivery, and NULLs sorted first: the copilot's 11 rows were
    # twelve ETA-less shipments in transit and never the one the carrier reported delayed.
    tenant = await make_tenant()
    now = datetime.now(UTC)
    for i in range(12):
        without_eta = await new_shipment(database, tenant, direction="inbound", quantity=0, tracking=f"TRK-N{i}")
        await track(database, tenant, without_eta, "in_transit", now)
    held = await new_shipment(database, tenant, direction="inbound", quantity=0, tracking="TRK-D")
    await track(database, tenant, held, "delayed", now)

    async def listed(tx: TenantTransaction):
        return await open_shipments.open_shipments(tx.conn, now.date(), limit=11)

    rows = await database.run(tenant.claims(), None, listed)
    assert rows[0]["id"] == held["id"]
    assert [r["delayed"] for r in rows] == [True] + [False] * 10


async def test_the_last_event_of_a_shipment_under_way_is_the_one_that_set_its_status(database, make_tenant):
    # Before, the "created" event stamped when the shipment was entered was newer than the carrier's past-dated
    # delay: the shipment read as delayed with last event "created" and no description.
    tenant = await make_tenant()
    shipment = await new_shipment(database, tenant, direction="inbound", quantity=0)
    three_hours_ago = datetime.now(UTC) - timedelta(hours=3)
    await track(database, tenant, shipment, "delayed", three_hours_ago, description="held at customs")

    async def named(tx: TenantTransaction):
        return await open_shipments.open_shipments(tx.conn, three_hours_ago.date(), shipment_ids=[shipment["id"]])

    [row] = await database.run(tenant.claims(), None, named)
    assert (row["status"], row["last_event"], row["last_description"]) == ("delayed", "delayed", "held at customs")
