"""Profiles, member roles and notifications under row-level security."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from common.database import TenantTransaction
from common.errors import ConflictError, NotFoundError, PermissionDeniedError
from inventory import catalog, members, notifications, purchasing, reservations, stock
from inventory.catalog_schemas import ProductUpdate
from inventory.listing import ListQuery
from inventory.member_schemas import ProfileUpdate
from inventory.purchasing_schemas import PurchaseOrderCreate, PurchaseOrderUpdate, PurchaseReceiptCreate
from inventory.schemas import IssueCreate, ReservationCreate


async def test_a_profile_update_merges_notification_settings_and_is_private(database, make_tenant):
    tenant = await make_tenant()
    first = ProfileUpdate.model_validate(
        {"display_name": "Vic", "units": "imperial", "notifications": {"shipments": False}}
    )
    second = ProfileUpdate.model_validate({"notifications": {"low_stock": False}, "timezone": "Europe/Berlin"})

    async def op(tx: TenantTransaction):
        await members.update_profile(tx.conn, tx.tenant_id, tx.user_id, first)
        return await members.update_profile(tx.conn, tx.tenant_id, tx.user_id, second)

    profile = await database.run(tenant.claims(tenant.viewer), None, op)  # viewers edit their own profile
    assert (profile["display_name"], profile["units"], profile["timezone"]) == ("Vic", "imperial", "Europe/Berlin")
    assert (profile["notifications"]["shipments"], profile["notifications"]["low_stock"]) == (False, False)

    async def peek(tx: TenantTransaction):
        return await tx.conn.fetch("SELECT user_id FROM app.member_profiles")

    assert await database.run(tenant.claims(tenant.planner), None, peek) == []


async def test_two_overlapping_profile_updates_both_stick(database, make_tenant):
    # Before, each merged into the profile it had read, and the second wrote its stale copy over the first.
    tenant = await make_tenant()
    claims = tenant.claims(tenant.viewer)
    low_stock = ProfileUpdate.model_validate({"notifications": {"low_stock": False}})
    shipments = ProfileUpdate.model_validate({"notifications": {"shipments": False}})
    async with database.tenant_transaction(claims, None) as tx:
        await members.update_profile(tx.conn, tx.tenant_id, tx.user_id, low_stock)
        second = asyncio.create_task(
            database.run(claims, None, lambda t: members.update_profile(t.conn, t.tenant_id, t.user_id, shipments))
        )
        await asyncio.sleep(0.3)
    profile = await second
    assert (profile["notifications"]["low_stock"], profile["notifications"]["shipments"]) == (False, False)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"timezone": "Mars/Olympus"},
        {"locale": "english"},
        {"units": "furlongs"},
        {"locale": None},
        {"notifications": {"in_app": None}},  # found by schemathesis: used to store null and 500 on read
    ],
    ids=["empty", "timezone", "locale", "units", "null-locale", "null-notification"],
)
def test_invalid_profile_updates_are_refused(body):
    with pytest.raises(ValidationError):
        ProfileUpdate.model_validate(body)


async def test_a_members_notification_settings_decide_what_their_list_shows(database, make_tenant, owner_pool):
    # Before, the settings were stored and nothing read them: low_stock off still listed every low-stock alert.
    tenant = await make_tenant()
    for kind in ("low_stock", "shipment.stock_short", "risk.late_delivery", "integration_sync"):
        await owner_pool.execute(
            "INSERT INTO app.notifications (tenant_id, kind, title) VALUES ($1, $2, $2)", tenant.id, kind
        )

    async def listed(user, settings=None):
        async def op(tx: TenantTransaction):
            if settings is not None:
                update = ProfileUpdate.model_validate({"notifications": settings})
                await members.update_profile(tx.conn, tx.tenant_id, tx.user_id, update)
            page = await notifications.list_notifications(tx.conn, ListQuery(limit=10))
            return sorted(n["kind"] for n in page.items)

        return await database.run(tenant.claims(user), None, op)

    everything = ["integration_sync", "low_stock", "risk.late_delivery", "shipment.stock_short"]
    assert await listed(tenant.planner) == everything  # no profile: every setting on
    off = {"low_stock": False, "shipments": False, "purchase_orders": False}
    assert await listed(tenant.viewer, off) == ["integration_sync"]
    assert await listed(tenant.admin, {"in_app": False}) == []


async def test_a_default_warehouse_of_another_tenant_is_unknown(database, make_tenant):
    mine = await make_tenant()
    theirs = await make_tenant()
    change = ProfileUpdate.model_validate({"default_warehouse_id": theirs.warehouses[0]})

    async def op(tx: TenantTransaction):
        return await members.update_profile(tx.conn, tx.tenant_id, tx.user_id, change)

    with pytest.raises(NotFoundError):
        await database.run(mine.claims(), None, op)


async def test_a_deactivated_warehouse_cannot_become_ones_default(database, make_tenant, owner_pool):
    tenant = await make_tenant()
    await owner_pool.execute("UPDATE app.warehouses SET active = false WHERE id = $1", tenant.warehouses[0])
    change = ProfileUpdate.model_validate({"default_warehouse_id": tenant.warehouses[0]})

    async def op(tx: TenantTransaction):
        return await members.update_profile(tx.conn, tx.tenant_id, tx.user_id, change)

    with pytest.raises(ConflictError) as refused:
        await database.run(tenant.claims(), None, op)
    assert refused.value.code == "inactive_warehouse"


async def test_admins_change_roles_but_never_remove_the_last_admin(database, make_tenant):
    tenant = await make_tenant()

    async def promote(tx: TenantTransaction):
        return await members.change_role(tx.conn, tx.role.value, tenant.viewer, "planner")

    assert (await database.run(tenant.claims(tenant.admin), None, promote))["role"] == "planner"

    async def demote_self(tx: TenantTransaction):
        return await members.change_role(tx.conn, tx.role.value, tenant.admin, "viewer")

    with pytest.raises(ConflictError):
        await database.run(tenant.claims(tenant.admin), None, demote_self)
    with pytest.raises(PermissionDeniedError):
        await database.run(tenant.claims(tenant.planner), None, promote)


async def test_the_member_list_shows_only_the_callers_tenant(database, make_tenant):
    tenant = await make_tenant()
    await make_tenant()

    async def op(tx: TenantTransaction):
        return await members.list_members(tx.conn, ListQuery(limit=50))

    page = await database.run(tenant.claims(tenant.admin), None, op)
    assert {m["user_id"] for m in page.items} == {tenant.admin, tenant.planner, tenant.viewer}


async def add_rule_with_minimum_5(owner_pool, tenant) -> None:
    """A supplier and a reorder rule (min 5, max 20) for the first product in the first warehouse."""
    async with owner_pool.acquire() as conn:
        supplier = await conn.fetchval(
            "INSERT INTO app.suppliers (tenant_id, code, name) VALUES ($1, 'S', 'S') RETURNING id", tenant.id
        )
        await conn.execute(
            "INSERT INTO app.reorder_rules (tenant_id, product_id, warehouse_id, supplier_id, min_quantity, "
            "max_quantity) VALUES ($1, $2, $3, $4, 5, 20)",
            tenant.id,
            tenant.products[0],
            tenant.warehouses[0],
            supplier,
        )


async def test_falling_below_a_rule_minimum_raises_one_low_stock_notification(database, owner_pool, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(10)})
    await add_rule_with_minimum_5(owner_pool, tenant)

    async def issue(tx: TenantTransaction):
        body = IssueCreate(type="issue", product_id=tenant.products[0], warehouse_id=tenant.warehouses[0], quantity=3)
        await stock.record_movement(tx.conn, tx.tenant_id, tx.user_id, body)

    for _ in range(3):  # 10 -> 7 -> 4 (crosses below 5) -> 1 (already below)
        await database.run(tenant.claims(), None, issue)

    async def unread(tx: TenantTransaction):
        return await notifications.list_notifications(tx.conn, ListQuery(limit=10, filters={"read": False}))

    page = await database.run(tenant.claims(tenant.viewer), None, unread)
    assert [n["kind"] for n in page.items] == ["low_stock"]

    async def read_all(tx: TenantTransaction):
        return await notifications.mark_all_read(tx.conn, tx.tenant_id, tx.user_id)

    assert await database.run(tenant.claims(tenant.viewer), None, read_all) == 1
    assert (await database.run(tenant.claims(tenant.viewer), None, unread)).items == []
    assert len((await database.run(tenant.claims(tenant.planner), None, unread)).items) == 1  # read state is per member


async def low_stock_titles(database, tenant) -> list[str]:
    async def read(tx: TenantTransaction):
        rows = await tx.conn.fetch("SELECT title FROM app.notifications WHERE kind = 'low_stock' ORDER BY created_at")
        return [r["title"] for r in rows]

    titles: list[str] = await database.run(tenant.claims(), None, read)
    return titles


async def order_10_units(database, owner_pool, tenant, issue: bool = True, lines: int = 1) -> dict:
    """A purchase order (issued unless told) for 10 units of the first product into the first warehouse, on
    ``lines`` lines of equal quantity."""
    async with owner_pool.acquire() as conn:
        supplier = await conn.fetchval("SELECT id FROM app.suppliers WHERE tenant_id = $1", tenant.id)
    line = {"product_id": tenant.products[0], "quantity": 10 // lines, "unit_price": "1"}
    body = PurchaseOrderCreate.model_validate(
        {"supplier_id": supplier, "warehouse_id": tenant.warehouses[0], "lines": [line] * lines}
    )

    async def create(tx: TenantTransaction):
        order = await purchasing.create_order(tx.conn, tx.tenant_id, tx.user_id, body, default_tolerance_pct=Decimal(0))
        return await purchasing.issue_order(tx.conn, tx.tenant_id, order["id"]) if issue else order

    order: dict = await database.run(tenant.claims(), None, create)
    return order


async def issue(database, tenant, quantity: int) -> None:
    body = IssueCreate(
        type="issue", product_id=tenant.products[0], warehouse_id=tenant.warehouses[0], quantity=quantity
    )
    await database.run(tenant.claims(), None, lambda tx: stock.record_movement(tx.conn, tx.tenant_id, tx.user_id, body))


async def test_stock_already_on_order_is_not_notified_as_below_its_minimum(database, owner_pool, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(10)})
    await add_rule_with_minimum_5(owner_pool, tenant)
    await order_10_units(database, owner_pool, tenant)
    await issue(database, tenant, 7)  # on hand 3, but 13 projected: nothing to order, as the proposals say
    assert await low_stock_titles(database, tenant) == []


async def test_cancelling_the_order_that_covered_the_minimum_notifies(database, owner_pool, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(10)})
    await add_rule_with_minimum_5(owner_pool, tenant)
    order = await order_10_units(database, owner_pool, tenant)
    await issue(database, tenant, 7)
    await database.run(tenant.claims(), None, lambda tx: purchasing.cancel_order(tx.conn, tx.tenant_id, order["id"]))
    assert await low_stock_titles(database, tenant) == [
        "SKU-0 in WH-0 is below its minimum: projected 3 < 5 (on hand 3, reserved 0, incoming 0)"
    ]


async def receive_one_and_close_the_backorder(database, tenant, order: dict) -> None:
    receipt = PurchaseReceiptCreate.model_validate(
        {"lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}], "close_backorder": True}
    )
    await database.run(
        tenant.claims(), None, lambda tx: purchasing.receive(tx.conn, tx.tenant_id, tx.user_id, order["id"], receipt)
    )


@pytest.mark.parametrize("lines", [1, 2], ids=["one-line", "two-lines-of-one-product"])
async def test_closing_the_backorder_that_covered_the_minimum_notifies_once(database, owner_pool, make_tenant, lines):
    # Before, with two lines of one product, a row trigger per line each saw the whole statement's change: both
    # lines' backorders closed at once and both triggers saw the crossing, so the notification came twice.
    tenant = await make_tenant(stock={0: Decimal(10)})
    await add_rule_with_minimum_5(owner_pool, tenant)
    order = await order_10_units(database, owner_pool, tenant, lines=lines)
    await issue(database, tenant, 7)  # on hand 3, projected 13
    await receive_one_and_close_the_backorder(database, tenant, order)
    assert await low_stock_titles(database, tenant) == [
        "SKU-0 in WH-0 is below its minimum: projected 4 < 5 (on hand 4, reserved 0, incoming 0)"
    ]


async def test_an_issue_and_a_cancel_at_once_that_cross_the_minimum_together_notify(database, owner_pool, make_tenant):
    # Before, each tested the crossing on its own snapshot: 20 -> 13 and 20 -> 10 stay above 5, so neither
    # notified, and the 3 they left together was never reported.
    tenant = await make_tenant(stock={0: Decimal(10)})
    await add_rule_with_minimum_5(owner_pool, tenant)
    order = await order_10_units(database, owner_pool, tenant)  # projected 20
    body = IssueCreate(type="issue", product_id=tenant.products[0], warehouse_id=tenant.warehouses[0], quantity=7)
    issued = asyncio.Event()

    async def issue_then_finish_the_request(tx: TenantTransaction) -> None:
        await stock.record_movement(tx.conn, tx.tenant_id, tx.user_id, body)
        issued.set()
        await tx.conn.execute("SELECT pg_sleep(0.5)")  # the rest of the request before it commits

    async def cancel_once_issued() -> None:
        await issued.wait()
        await database.run(
            tenant.claims(), None, lambda tx: purchasing.cancel_order(tx.conn, tx.tenant_id, order["id"])
        )

    await asyncio.gather(database.run(tenant.claims(), None, issue_then_finish_the_request), cancel_once_issued())
    assert await low_stock_titles(database, tenant) == [
        "SKU-0 in WH-0 is below its minimum: projected 3 < 5 (on hand 3, reserved 0, incoming 0)"
    ]


def _remove_its_line(conn, draft, tenant):
    return purchasing.remove_line(conn, draft["id"], draft["lines"][0]["id"])


def _move_it_to_another_warehouse(conn, draft, tenant):
    return purchasing.update_order(conn, draft["id"], PurchaseOrderUpdate(warehouse_id=tenant.warehouses[1]))


@pytest.mark.parametrize("take_away", [_remove_its_line, _move_it_to_another_warehouse])
async def test_taking_away_the_draft_that_covered_the_minimum_notifies(database, owner_pool, make_tenant, take_away):
    tenant = await make_tenant(stock={0: Decimal(10)})
    await add_rule_with_minimum_5(owner_pool, tenant)
    draft = await order_10_units(database, owner_pool, tenant, issue=False)
    await issue(database, tenant, 7)  # on hand 3, projected 13
    await database.run(tenant.claims(), None, lambda tx: take_away(tx.conn, draft, tenant))
    assert await low_stock_titles(database, tenant) == [
        "SKU-0 in WH-0 is below its minimum: projected 3 < 5 (on hand 3, reserved 0, incoming 0)"
    ]


async def test_a_reservation_that_takes_projected_stock_below_the_minimum_notifies_once(
    database, owner_pool, make_tenant
):
    tenant = await make_tenant(stock={0: Decimal(10)})
    await add_rule_with_minimum_5(owner_pool, tenant)
    hold = ReservationCreate(product_id=tenant.products[0], warehouse_id=tenant.warehouses[0], quantity=Decimal(7))
    reservation = await database.run(
        tenant.claims(), None, lambda tx: reservations.create_reservation(tx.conn, tx.tenant_id, tx.user_id, hold)
    )
    first = await low_stock_titles(database, tenant)
    await database.run(
        tenant.claims(),
        None,
        lambda tx: reservations.fulfil_reservation(tx.conn, tx.tenant_id, tx.user_id, reservation["id"]),
    )
    # The fulfilment ships what was already held: projected stock stays 3, nothing new to say.
    assert (
        first
        == await low_stock_titles(database, tenant)
        == ["SKU-0 in WH-0 is below its minimum: projected 3 < 5 (on hand 10, reserved 7, incoming 0)"]
    )


async def test_a_members_today_is_the_date_in_their_profiles_time_zone(database, make_tenant, owner_pool):
    tenant = await make_tenant()
    # A zone whose date differs from UTC's right now: UTC+14 from 10:00 UTC, UTC-12 before 12:00 UTC.
    ahead = datetime.now(UTC).hour >= 10
    zone = "Etc/GMT-14" if ahead else "Etc/GMT+12"
    update = ProfileUpdate.model_validate({"timezone": zone})
    await database.run(
        tenant.claims(), None, lambda tx: members.update_profile(tx.conn, tx.tenant_id, tx.user_id, update)
    )

    async def today(user):
        return await database.run(tenant.claims(user), None, lambda tx: members.today_for(tx.conn, tx.user_id))

    utc_today = datetime.now(UTC).date()
    assert await today(tenant.planner) == utc_today + timedelta(days=1 if ahead else -1)
    assert await today(tenant.viewer) == utc_today  # no profile
    async with owner_pool.acquire() as conn:  # a zone this system's tz database lacks: UTC, not a 500
        await conn.execute(
            "UPDATE app.member_profiles SET timezone = 'Mars/Olympus' WHERE user_id = $1", tenant.planner
        )
    assert await today(tenant.planner) == utc_today


async def test_a_deactivated_product_turns_its_reorder_rules_off_and_raises_no_low_stock_notification(
    database, owner_pool, make_tenant
):
    tenant = await make_tenant(stock={0: Decimal(10)})
    await add_rule_with_minimum_5(owner_pool, tenant)

    async def discontinue_and_issue(tx: TenantTransaction):
        await catalog.update(tx.conn, catalog.PRODUCTS, tenant.products[0], ProductUpdate(active=False))
        body = IssueCreate(type="issue", product_id=tenant.products[0], warehouse_id=tenant.warehouses[0], quantity=8)
        await stock.record_movement(tx.conn, tx.tenant_id, tx.user_id, body)  # 10 -> 2, below the minimum 5
        rules = await tx.conn.fetch("SELECT active FROM app.reorder_rules WHERE product_id = $1", tenant.products[0])
        kinds = await tx.conn.fetch("SELECT kind FROM app.notifications WHERE tenant_id = $1", tx.tenant_id)
        return [r["active"] for r in rules], [k["kind"] for k in kinds]

    assert await database.run(tenant.claims(), None, discontinue_and_issue) == ([False], [])
    async with owner_pool.acquire() as conn:  # reactivating the product leaves the rule off
        await conn.execute("UPDATE app.products SET active = true WHERE id = $1", tenant.products[0])
        assert (
            await conn.fetchval("SELECT active FROM app.reorder_rules WHERE product_id = $1", tenant.products[0])
            is False
        )
