"""Purchase order status changes an ERP reports go through the same life cycle as the API's actions: the
same path, timestamps and ``purchase_order.status_changed`` events; a move the life cycle forbids is
dead-lettered and leaves the order as it was."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
import pytest

from common.database import TenantTransaction
from common.errors import ConflictError
from integrations.sync import run_sync
from inventory import events, purchasing
from inventory.purchasing_schemas import PurchaseOrderLineCreate, PurchaseOrderUpdate, PurchaseReceiptCreate
from tests.integrations.conftest import bare_tenant, odoo_connector, tap
from tests.support.fakes.odoo import FakeOdoo, populate


async def synced_tenant(sync_deps, owner_pool, make_tenant, fake: FakeOdoo):
    tenant = await bare_tenant(owner_pool, make_tenant)
    connector = await odoo_connector(sync_deps, tenant, fake.url)
    await run_sync(sync_deps, tenant.id, connector)
    return tenant, connector


def odoo_order(fake: FakeOdoo, number: str) -> int:
    return next(i for i, row in fake.models["purchase.order"].items() if row["name"] == number)


async def order_row(owner_pool: asyncpg.Pool, tenant_id: uuid.UUID, number: str) -> asyncpg.Record:
    async with owner_pool.acquire() as conn:
        row = await conn.fetchrow(
            """SELECT id, status, issued_at, received_at, cancelled_at FROM app.purchase_orders
               WHERE tenant_id = $1 AND number = $2""",
            tenant_id,
            number,
        )
    assert row is not None
    return row


async def test_an_order_the_erp_issues_publishes_the_status_event_and_is_stamped(sync_deps, owner_pool, make_tenant):
    with FakeOdoo() as odoo:
        populate(odoo)
        tenant, connector = await synced_tenant(sync_deps, owner_pool, make_tenant, odoo)
        odoo.put("purchase.order", {"state": "purchase"}, odoo_order(odoo, "P00001"))  # draft in Odoo until now
        async with tap(owner_pool, tenant.id) as published:
            await run_sync(sync_deps, tenant.id, connector)
    order = await order_row(owner_pool, tenant.id, "P00001")
    assert order["status"] == "issued" and order["issued_at"] is not None
    changes = [e for e in published if e["type"] == events.PURCHASE_ORDER_STATUS]
    assert [e["data"] for e in changes] == [
        {
            "purchase_order_id": str(order["id"]),
            "number": "P00001",
            "from": "draft",
            "to": "issued",
            "source": "erp:erp",
        }
    ]


async def test_an_erp_jump_from_draft_to_received_takes_the_steps_a_user_would(sync_deps, owner_pool, make_tenant):
    with FakeOdoo() as odoo:
        populate(odoo)
        tenant, connector = await synced_tenant(sync_deps, owner_pool, make_tenant, odoo)
        order_id = odoo_order(odoo, "P00001")
        for line_id, line in list(odoo.models["purchase.order.line"].items()):
            if line["order_id"][0] == order_id:
                odoo.put("purchase.order.line", {"qty_received": line["product_qty"]}, line_id)
        odoo.put("purchase.order", {"state": "done"}, order_id)
        async with tap(owner_pool, tenant.id) as published:
            await run_sync(sync_deps, tenant.id, connector)
    order = await order_row(owner_pool, tenant.id, "P00001")
    assert order["status"] == "received" and order["issued_at"] and order["received_at"]
    steps = [(e["data"]["from"], e["data"]["to"]) for e in published if e["type"] == events.PURCHASE_ORDER_STATUS]
    assert steps == [("draft", "issued"), ("issued", "received")]


async def test_an_erp_move_the_life_cycle_forbids_is_dead_lettered_and_changes_nothing(
    sync_deps, owner_pool, make_tenant
):
    with FakeOdoo() as odoo:
        populate(odoo)
        tenant, connector = await synced_tenant(sync_deps, owner_pool, make_tenant, odoo)
        before = await order_row(owner_pool, tenant.id, "P00003")
        # P00003 was cancelled; the ERP now reports it confirmed, and changes its planned date too.
        odoo.put(
            "purchase.order", {"state": "purchase", "date_planned": "2026-03-01 10:00:00"}, odoo_order(odoo, "P00003")
        )
        async with tap(owner_pool, tenant.id) as published:
            run = await run_sync(sync_deps, tenant.id, connector)
    assert run["status"] == "completed_with_errors"
    assert run["counts"]["purchase_orders"]["dead_lettered"] == 1
    async with owner_pool.acquire() as conn:
        error = await conn.fetchval(
            """SELECT error FROM app.integration_dead_letters
               WHERE tenant_id = $1 AND entity = 'purchase_orders' AND resolved_at IS NULL""",
            tenant.id,
        )
        expected_date = await conn.fetchval("SELECT expected_date FROM app.purchase_orders WHERE id = $1", before["id"])
    assert error == "purchase order P00003 is cancelled and cannot become issued"
    assert await order_row(owner_pool, tenant.id, "P00003") == before
    assert str(expected_date) == "2026-02-01"  # the whole record was refused, not just its status
    assert [e for e in published if e["type"] == events.PURCHASE_ORDER_STATUS] == []


async def test_an_order_first_seen_already_received_carries_every_stamp_and_announces_nothing(
    sync_deps, owner_pool, make_tenant
):
    with FakeOdoo() as odoo:
        populate(odoo)
        order_id = odoo_order(odoo, "P00002")  # confirmed in Odoo; received in full before the first sync
        for line_id, line in list(odoo.models["purchase.order.line"].items()):
            if line["order_id"][0] == order_id:
                odoo.put("purchase.order.line", {"qty_received": line["product_qty"]}, line_id)
        tenant = await bare_tenant(owner_pool, make_tenant)
        connector = await odoo_connector(sync_deps, tenant, odoo.url)
        async with tap(owner_pool, tenant.id) as published:
            await run_sync(sync_deps, tenant.id, connector)
    order = await order_row(owner_pool, tenant.id, "P00002")
    assert order["status"] == "received" and order["issued_at"] and order["received_at"]
    assert [e for e in published if e["type"] == events.PURCHASE_ORDER_STATUS] == []


async def test_an_order_the_erp_holds_is_received_and_cancelled_there_not_here(sync_deps, owner_pool, make_tenant):
    # Before, a receipt here was accepted, and the next sync set the line's received quantity back to the ERP's
    # (so the same goods could be received again and counted twice) or its stock snapshot took the stock away.
    with FakeOdoo() as odoo:
        populate(odoo)
        tenant, _ = await synced_tenant(sync_deps, owner_pool, make_tenant, odoo)
    order = await order_row(owner_pool, tenant.id, "P00002")

    async def receive_one(tx: TenantTransaction):
        (line,) = (await purchasing.get_order(tx.conn, order["id"]))["lines"][:1]
        body = PurchaseReceiptCreate.model_validate({"lines": [{"line_id": line["id"], "quantity": 1}]})
        return await purchasing.receive(tx.conn, tx.tenant_id, tx.user_id, order["id"], body)

    for attempt, action in ((receive_one, "received"), (cancel(order["id"]), "cancelled")):
        with pytest.raises(ConflictError, match=f"kept in the ERP \\(erp\\): it is {action} there") as refused:
            await sync_deps.database.run(tenant.claims(), None, attempt)
        assert refused.value.code == "erp_managed"
    assert (await order_row(owner_pool, tenant.id, "P00002"))["status"] == order["status"]


async def test_a_draft_the_erp_holds_is_edited_there_not_here(sync_deps, owner_pool, make_tenant):
    # Before, the edits were accepted and the next sync silently put the ERP's header and lines back.
    with FakeOdoo() as odoo:
        populate(odoo)
        tenant, _ = await synced_tenant(sync_deps, owner_pool, make_tenant, odoo)
    number = await owner_pool.fetchval(
        "SELECT number FROM app.purchase_orders WHERE tenant_id = $1 AND status = 'draft' ORDER BY number", tenant.id
    )
    order = await order_row(owner_pool, tenant.id, number)

    async def edits(tx: TenantTransaction) -> list[str]:
        current = await purchasing.get_order(tx.conn, order["id"])
        line = {"product_id": current["lines"][0]["product_id"], "quantity": 1, "unit_price": 1}
        attempts = (
            purchasing.update_order(tx.conn, order["id"], PurchaseOrderUpdate(notes="rush")),
            purchasing.add_line(tx.conn, tx.tenant_id, order["id"], PurchaseOrderLineCreate.model_validate(line)),
            purchasing.remove_line(tx.conn, order["id"], current["lines"][0]["id"]),
        )
        codes = []
        for attempt in attempts:
            try:
                await attempt
            except ConflictError as refused:
                codes.append(refused.code)
        return codes

    assert await sync_deps.database.run(tenant.claims(), None, edits) == ["erp_managed"] * 3


def cancel(order_id: uuid.UUID):
    async def op(tx: TenantTransaction):
        return await purchasing.cancel_order(tx.conn, tx.tenant_id, order_id)

    return op


async def delivery_dates(owner_pool: asyncpg.Pool, order_id: uuid.UUID) -> list:
    async with owner_pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT delivered_date FROM app.risk_delivery_history WHERE purchase_order_id = $1", order_id
        )
    return [r["delivered_date"] for r in rows]


async def test_lines_the_erp_receives_are_deliveries_dated_by_the_sync_that_saw_them(
    sync_deps, owner_pool, make_tenant
):
    # Before, an ERP receipt left no receipt here, so the delivery history read every line the ERP received as
    # still open: late for ever once its promised date passed, in the supplier's on-time rate and the labels.
    with FakeOdoo() as odoo:
        populate(odoo)
        tenant, connector = await synced_tenant(sync_deps, owner_pool, make_tenant, odoo)
        order_id = odoo_order(odoo, "P00001")
        odoo.put("purchase.order", {"state": "purchase"}, order_id)
        await run_sync(sync_deps, tenant.id, connector)
        for line_id, line in list(odoo.models["purchase.order.line"].items()):
            if line["order_id"][0] == order_id:
                odoo.put("purchase.order.line", {"qty_received": line["product_qty"]}, line_id)
        odoo.put("purchase.order", {"state": "done"}, order_id)
        await run_sync(sync_deps, tenant.id, connector)
    order = await order_row(owner_pool, tenant.id, "P00001")
    async with owner_pool.acquire() as conn:
        today = await conn.fetchval("SELECT (now() AT TIME ZONE 'UTC')::date")
    dates = await delivery_dates(owner_pool, order["id"])
    assert dates and set(dates) <= {today, today - timedelta(days=1), today + timedelta(days=1)}


async def test_an_order_the_erp_had_received_before_any_sync_is_no_delivery_evidence(
    sync_deps, owner_pool, make_tenant
):
    with FakeOdoo() as odoo:
        populate(odoo)
        order_id = odoo_order(odoo, "P00001")
        for line_id, line in list(odoo.models["purchase.order.line"].items()):
            if line["order_id"][0] == order_id:
                odoo.put("purchase.order.line", {"qty_received": line["product_qty"]}, line_id)
        odoo.put("purchase.order", {"state": "done"}, order_id)
        tenant, _ = await synced_tenant(sync_deps, owner_pool, make_tenant, odoo)
    order = await order_row(owner_pool, tenant.id, "P00001")
    assert order["status"] == "received"
    assert await delivery_dates(owner_pool, order["id"]) == []  # when it came is not known: not an open line
