"""Orders an ERP deletes: Business Central once an order is fully received and invoiced (or by hand), Odoo a draft
RFQ. Neither tells a reader; the sync closes such an order here only after a complete answer from the ERP."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from integrations.sync import run_sync
from inventory import events
from tests.integrations.conftest import bare_tenant, bc_tenant, dead_letters, odoo_connector, snapshot, tap
from tests.support.fakes.base import Request, Response
from tests.support.fakes.dynamics import FakeDynamics
from tests.support.fakes.odoo import FakeOdoo, populate


async def _bc_synced(sync_deps: Any, owner_pool: Any, make_tenant: Any, bc: FakeDynamics) -> tuple[Any, Any]:
    tenant, connector = await bc_tenant(sync_deps, owner_pool, make_tenant, bc)
    await run_sync(sync_deps, tenant.id, connector)
    return tenant, connector


def _bc_order(bc: FakeDynamics, number: str) -> dict[str, Any]:
    return next(o for o in bc.tables["purchaseOrders"].values() if o["number"] == number)


def _orders(state: dict[str, Any]) -> dict[str, tuple[str, list[Any]]]:
    return {o[0]: (o[4], [line[5] for line in json.loads(o[6])]) for o in state["orders"]}


async def test_an_order_business_central_deleted_once_invoiced_is_received_in_full_without_stock_movements(
    sync_deps, owner_pool, make_tenant, bc
):
    tenant, connector = await _bc_synced(sync_deps, owner_pool, make_tenant, bc)
    before = await snapshot(owner_pool, tenant.id)
    assert _orders(before)["106901"] == ("issued", [0, 0])
    # Received and invoiced in one posting: BC posts the invoice (naming the order) and deletes the order.
    bc.put("purchaseInvoices", {"number": "108001", "orderNumber": "106901", "status": "Open"})
    bc.delete("purchaseOrders", _bc_order(bc, "106901")["id"])
    async with tap(owner_pool, tenant.id) as published:
        run = await run_sync(sync_deps, tenant.id, connector)
    assert run["status"] == "completed_with_errors"  # the sample's broken item, as every run
    assert run["counts"]["purchase_orders"]["updated"] == 1
    after = await snapshot(owner_pool, tenant.id)
    four = float(Decimal("4.0000"))
    assert _orders(after) == {"106900": ("draft", [0, 0]), "106901": ("received", [four, four])}
    assert after["ledger"] == before["ledger"]  # the goods came with the stock sync: no receipt movement here
    steps = [e["data"] for e in published if e["type"] == events.PURCHASE_ORDER_STATUS]
    assert [(s["number"], s["from"], s["to"], s["source"]) for s in steps] == [
        ("106901", "issued", "received", "erp:erp")
    ]
    rerun = await run_sync(sync_deps, tenant.id, connector)
    assert rerun["counts"]["purchase_orders"]["updated"] == 0
    assert await snapshot(owner_pool, tenant.id) == after


async def test_an_order_numbered_here_not_as_in_business_central_is_found_invoiced_by_its_id(
    sync_deps, owner_pool, make_tenant, bc
):
    # An order pushed from here keeps its own number; BC's invoice names BC's number and the order's id.
    tenant, connector = await _bc_synced(sync_deps, owner_pool, make_tenant, bc)
    await owner_pool.execute(
        "UPDATE app.purchase_orders SET number = 'PO-000123' WHERE tenant_id = $1 AND number = '106901'", tenant.id
    )
    order = _bc_order(bc, "106901")
    bc.put("purchaseInvoices", {"number": "108001", "orderId": order["id"], "orderNumber": "106901", "status": "Open"})
    bc.delete("purchaseOrders", order["id"])
    await run_sync(sync_deps, tenant.id, connector)
    assert _orders(await snapshot(owner_pool, tenant.id))["PO-000123"][0] == "received"


async def test_an_invoice_with_the_orders_number_but_another_orders_id_proves_no_receipt(
    sync_deps, owner_pool, make_tenant, bc
):
    # Found by number alone, another company's invoice (same number series) closed the order as received, and
    # outside the safety valve, which counts only unproven closures.
    tenant, connector = await _bc_synced(sync_deps, owner_pool, make_tenant, bc)
    other = "9f0c1c1e-7a55-4a2e-9d7e-2b1f6f0e0a11"
    bc.put("purchaseInvoices", {"number": "108001", "orderId": other, "orderNumber": "106901", "status": "Open"})
    bc.delete("purchaseOrders", _bc_order(bc, "106901")["id"])
    await run_sync(sync_deps, tenant.id, connector)
    assert _orders(await snapshot(owner_pool, tenant.id))["106901"][0] == "cancelled"


async def test_an_order_deleted_by_hand_in_business_central_is_cancelled(sync_deps, owner_pool, make_tenant, bc):
    tenant, connector = await _bc_synced(sync_deps, owner_pool, make_tenant, bc)
    bc.put("purchaseInvoices", {"number": "108001", "orderNumber": "106999", "status": "Open"})  # another order's
    for number in ("106900", "106901"):
        bc.delete("purchaseOrders", _bc_order(bc, number)["id"])
    await run_sync(sync_deps, tenant.id, connector)
    assert _orders(await snapshot(owner_pool, tenant.id)) == {
        "106900": ("cancelled", [0, 0]),
        "106901": ("cancelled", [0, 0]),
    }


async def test_an_incomplete_listing_of_business_central_orders_closes_nothing(sync_deps, owner_pool, make_tenant, bc):
    template = _bc_order(bc, "106901")
    for n in range(4):  # with pages of 4, the listing takes two pages
        bc.put(
            "purchaseOrders", {k: v for k, v in template.items() if k not in ("id", "number")} | {"number": f"10700{n}"}
        )
    tenant, connector = await _bc_synced(sync_deps, owner_pool, make_tenant, bc)
    bc.delete("purchaseOrders", _bc_order(bc, "106901")["id"])
    handle = bc.handle

    def second_listing_page_fails(request: Request) -> Response:
        if "$select" in request.query and "$skiptoken" in request.query:
            return Response(500, {"error": {"code": "Internal_ServerError", "message": "Something went wrong."}})
        return handle(request)

    bc.handle = second_listing_page_fails  # type: ignore[method-assign]
    run = await run_sync(sync_deps, tenant.id, connector)
    assert run["status"] == "failed" and "HTTP 500" in run["error"]
    assert _orders(await snapshot(owner_pool, tenant.id))["106901"][0] == "issued"
    bc.handle = handle  # type: ignore[method-assign]
    await run_sync(sync_deps, tenant.id, connector)
    assert _orders(await snapshot(owner_pool, tenant.id))["106901"][0] == "cancelled"


async def test_a_draft_rfq_deleted_in_odoo_is_cancelled(sync_deps, owner_pool, make_tenant):
    with FakeOdoo() as odoo:
        populate(odoo)
        tenant = await bare_tenant(owner_pool, make_tenant)
        connector = await odoo_connector(sync_deps, tenant, odoo.url)
        await run_sync(sync_deps, tenant.id, connector)
        assert {n: s for n, (s, _) in _orders(await snapshot(owner_pool, tenant.id)).items()} == {
            "P00001": "draft",
            "P00002": "issued",
            "P00003": "cancelled",
        }
        with odoo.lock:  # unlink: Odoo deletes a draft RFQ with its lines
            order_id = next(i for i, row in odoo.models["purchase.order"].items() if row["name"] == "P00001")
            del odoo.models["purchase.order"][order_id]
            lines = odoo.models["purchase.order.line"]
            for line_id in [i for i, row in lines.items() if row["order_id"][0] == order_id]:
                del lines[line_id]
        async with tap(owner_pool, tenant.id) as published:
            run = await run_sync(sync_deps, tenant.id, connector)
    assert run["counts"]["purchase_orders"]["updated"] == 1
    assert {n: s for n, (s, _) in _orders(await snapshot(owner_pool, tenant.id)).items()} == {
        "P00001": "cancelled",
        "P00002": "issued",
        "P00003": "cancelled",
    }
    steps = [e["data"] for e in published if e["type"] == events.PURCHASE_ORDER_STATUS]
    assert [(s["number"], s["from"], s["to"], s["source"]) for s in steps] == [
        ("P00001", "draft", "cancelled", "erp:erp")
    ]


def _odoo_id(odoo: FakeOdoo, number: str) -> int:
    return next(i for i, row in odoo.models["purchase.order"].items() if row["name"] == number)


async def _odoo_synced(sync_deps: Any, owner_pool: Any, make_tenant: Any, odoo: FakeOdoo, **options: Any) -> Any:
    populate(odoo, orders=options.pop("orders", 3))
    tenant = await bare_tenant(owner_pool, make_tenant)
    connector = await odoo_connector(sync_deps, tenant, odoo.url, options={"database": "prod", **options})
    await run_sync(sync_deps, tenant.id, connector)
    return tenant, connector


async def _statuses(owner_pool: Any, tenant: Any) -> dict[str, str]:
    return {n: s for n, (s, _) in _orders(await snapshot(owner_pool, tenant.id)).items()}


HIDDEN = "exist but are hidden from the API user by record rules"


async def test_orders_odoo_hides_from_the_api_user_by_record_rules_are_not_closed(sync_deps, owner_pool, make_tenant):
    # The API user lost access to the company of both open orders: search_read no longer returns them, as if deleted.
    with FakeOdoo() as odoo:
        tenant, connector = await _odoo_synced(sync_deps, owner_pool, make_tenant, odoo)
        odoo.hidden["purchase.order"] = {_odoo_id(odoo, "P00001"), _odoo_id(odoo, "P00002")}
        run = await run_sync(sync_deps, tenant.id, connector)
        assert run["status"] == "failed"
        assert "Odoo order(s) P00001" in run["error"] and "P00002" in run["error"] and HIDDEN in run["error"]
        open_here = {"P00001": "draft", "P00002": "issued", "P00003": "cancelled"}
        assert await _statuses(owner_pool, tenant) == open_here
        odoo.hidden.clear()  # access given back: the orders are there, open, as they always were
        run = await run_sync(sync_deps, tenant.id, connector)
    assert run["status"] == "completed_with_errors"  # the sample's broken item, as every run
    assert await _statuses(owner_pool, tenant) == open_here


async def test_over_json2_an_order_odoo_deleted_is_closed_once_no_open_order_is_hidden(
    sync_deps, owner_pool, make_tenant
):
    with FakeOdoo(version=19) as odoo:
        tenant, connector = await _odoo_synced(sync_deps, owner_pool, make_tenant, odoo, protocol="json2")
        with odoo.lock:
            del odoo.models["purchase.order"][_odoo_id(odoo, "P00001")]  # a draft RFQ, unlinked
        odoo.hidden["purchase.order"] = {_odoo_id(odoo, "P00002")}
        run = await run_sync(sync_deps, tenant.id, connector)
        assert run["status"] == "failed"
        assert "Odoo order(s) P00002" in run["error"] and HIDDEN in run["error"] and "P00001" not in run["error"]
        assert (await _statuses(owner_pool, tenant))["P00001"] == "draft"  # the step failed: nothing closed
        odoo.hidden.clear()
        await run_sync(sync_deps, tenant.id, connector)
    assert await _statuses(owner_pool, tenant) == {"P00001": "cancelled", "P00002": "issued", "P00003": "cancelled"}


async def test_an_order_closed_as_gone_that_odoo_holds_again_is_applied_again_and_dead_lettered(
    sync_deps, owner_pool, make_tenant
):
    with FakeOdoo() as odoo:
        tenant, connector = await _odoo_synced(sync_deps, owner_pool, make_tenant, odoo)
        order_id = _odoo_id(odoo, "P00002")
        with odoo.lock:
            record = odoo.models["purchase.order"].pop(order_id)
        await run_sync(sync_deps, tenant.id, connector)
        assert (await _statuses(owner_pool, tenant))["P00002"] == "cancelled"
        odoo.put("purchase.order", record, order_id)  # back as it was (a restore): only its write_date is new
        run = await run_sync(sync_deps, tenant.id, connector)
    assert run["status"] == "completed_with_errors"
    assert (await _statuses(owner_pool, tenant))["P00002"] == "cancelled"
    assert [(e, "cancelled" in error) for e, error in await dead_letters(owner_pool, tenant.id, "purchase_orders")] == [
        (str(order_id), True)
    ]


async def test_a_mass_disappearance_of_orders_closes_none_and_fails_the_run_with_a_notification(
    sync_deps, owner_pool, make_tenant
):
    # 36 orders: 12 drafts, 12 confirmed (24 open here), 12 cancelled. 11 gone at once is more than max(10, 10%).
    with FakeOdoo() as odoo:
        tenant, connector = await _odoo_synced(sync_deps, owner_pool, make_tenant, odoo, orders=36)
        before = await _statuses(owner_pool, tenant)
        drafts = sorted(n for n, s in before.items() if s == "draft")
        with odoo.lock:
            gone = {number: odoo.models["purchase.order"].pop(_odoo_id(odoo, number)) for number in drafts[:11]}
        run = await run_sync(sync_deps, tenant.id, connector)
        assert run["status"] == "failed"
        assert "11 of the 24 orders open here" in run["error"] and "none is closed" in run["error"]
        assert await _statuses(owner_pool, tenant) == before
        titles = await owner_pool.fetch(
            "SELECT title FROM app.notifications WHERE tenant_id = $1 AND kind = 'integration_sync'", tenant.id
        )
        assert any("11 of the 24 orders open here" in t["title"] for t in titles)
        with odoo.lock:  # one was not gone after all: ten at once are closed
            odoo.models["purchase.order"][gone[drafts[0]]["id"]] = gone[drafts[0]]
        run = await run_sync(sync_deps, tenant.id, connector)
    assert run["status"] == "completed_with_errors"
    after = await _statuses(owner_pool, tenant)
    assert after == before | dict.fromkeys(drafts[1:11], "cancelled")


async def test_an_invoice_not_posted_does_not_make_a_deleted_business_central_order_received(
    sync_deps, owner_pool, make_tenant, bc
):
    tenant, connector = await _bc_synced(sync_deps, owner_pool, make_tenant, bc)
    # A draft invoice (not posted: no receipt proven), one in review, and one posted and then cancelled.
    for n, status in enumerate(("Draft", "In Review", "Canceled")):
        bc.put("purchaseInvoices", {"number": f"10800{n}", "orderNumber": "106901", "status": status})
    bc.delete("purchaseOrders", _bc_order(bc, "106901")["id"])
    await run_sync(sync_deps, tenant.id, connector)
    assert _orders(await snapshot(owner_pool, tenant.id))["106901"][0] == "cancelled"
