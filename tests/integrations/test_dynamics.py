"""Dynamics 365 Business Central over OData v4 with OAuth2 client credentials, against a fake on loopback."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest

from common.errors import ConflictError
from integrations.errors import ConnectorProtocolError
from integrations.push import push_purchase_order
from integrations.sync import run_sync
from inventory import purchasing
from inventory.purchasing_schemas import PurchaseOrderLineCreate
from tests.integrations.conftest import (
    bc_tenant,
    completed_run,
    draft_order,
    failed_run,
    push_draft,
    snapshot,
)
from tests.support.fakes.base import Request, Response
from tests.support.fakes.dynamics import NO_DISCOUNT, NULL_GUID, FakeDynamics


async def test_initial_then_incremental_sync_and_rerun(sync_deps, owner_pool, make_tenant, bc):
    tenant, connector = await bc_tenant(sync_deps, owner_pool, make_tenant, bc)
    run = await completed_run(sync_deps, tenant, connector)
    state = await snapshot(owner_pool, tenant.id)
    assert state["warehouses"] == [("MAIN", "Main")]
    # A vendor's currency code, else the company's local currency (the mapping's default_currency).
    assert [(s[0], s[5]) for s in state["suppliers"]] == [("20000", "USD"), ("30000", "CAD")]
    assert [p[:3] for p in state["products"]] == [
        ("1001", "Item 1", "each"),
        ("1002", "Item 2", "kg"),
        ("1003", "Item 3", "each"),
        ("1004", "Item 4", "kg"),
    ]
    assert state["levels"] == [(f"100{i}", "MAIN", Decimal(10 * i).quantize(Decimal("0.0001"))) for i in range(1, 5)]
    assert [(o[0], o[3], o[4]) for o in state["orders"]] == [("106900", "USD", "draft"), ("106901", "USD", "issued")]
    # The item without a number is dead-lettered, and so is its stock (it refers to an item not synced).
    broken = next(iter(bc.tables["items"]))
    assert state["dead_letters"] == [("products", broken), ("stock", broken)]
    assert await snapshot(owner_pool, tenant.id) == state

    rerun = await run_sync(sync_deps, tenant.id, connector)
    assert all(c["created"] == c["updated"] == 0 for c in rerun["counts"].values()), rerun["counts"]
    order = next(o for o in bc.tables["purchaseOrders"].values() if o["number"] == "106901")
    lines = [{**line, "receivedQuantity": 4.0} for line in order["purchaseOrderLines"]]
    bc.put("purchaseOrders", {"purchaseOrderLines": lines}, order["id"])
    run = await run_sync(sync_deps, tenant.id, connector)
    assert run["counts"]["purchase_orders"]["updated"] == 1
    assert (await snapshot(owner_pool, tenant.id))["orders"][1][4] == "received"


async def test_a_vendor_is_inactive_only_when_blocked_for_all(sync_deps, owner_pool, make_tenant, bc):
    # The API sends the blank member " " as "_x0020_": every vendor was synced inactive. One blocked for Payment
    # still takes purchase documents in Business Central.
    vendors = {v["number"]: v for v in bc.tables["vendors"].values()}
    bc.put("vendors", {"blocked": "All"}, vendors["30000"]["id"])
    bc.put("vendors", {"number": "40000", "displayName": "Vendor 2", "currencyCode": "", "blocked": "Payment"})
    tenant, connector = await bc_tenant(sync_deps, owner_pool, make_tenant, bc)
    await completed_run(sync_deps, tenant, connector)
    state = await snapshot(owner_pool, tenant.id)
    assert [(s[0], s[4]) for s in state["suppliers"]] == [("20000", True), ("30000", False), ("40000", True)]


async def test_a_blank_receipt_date_syncs_as_no_date_and_a_year_two_date_is_dead_lettered(
    sync_deps, owner_pool, make_tenant, bc
):
    # Business Central writes a blank date as 0001-01-01: read as a date, the order was 739,000 days late.
    orders = {o["number"]: o for o in bc.tables["purchaseOrders"].values()}
    bc.put("purchaseOrders", {"requestedReceiptDate": "0001-01-01"}, orders["106901"]["id"])
    bc.put("purchaseOrders", {"requestedReceiptDate": "0002-01-01"}, orders["106900"]["id"])
    tenant, connector = await bc_tenant(sync_deps, owner_pool, make_tenant, bc)
    await completed_run(sync_deps, tenant, connector)
    state = await snapshot(owner_pool, tenant.id)
    assert [(o[0], o[4], o[5]) for o in state["orders"]] == [("106901", "issued", None)]
    assert ("purchase_orders", orders["106900"]["id"]) in state["dead_letters"]


async def test_an_order_whose_lines_have_no_location_syncs_into_the_default_warehouse(
    sync_deps, owner_pool, make_tenant, bc
):
    # Business Central sends a line without a location (and a comment line's item) as the null GUID: the order
    # referred to a location never synced and was dead-lettered, an order pushed for default_warehouse included.
    order = next(o for o in bc.tables["purchaseOrders"].values() if o["number"] == "106901")
    lines = [{**line, "locationId": NULL_GUID} for line in order["purchaseOrderLines"]]
    comment = {"id": "comment", "sequence": 30000, "lineType": "Comment", "itemId": NULL_GUID, "quantity": 0}
    bc.put("purchaseOrders", {"purchaseOrderLines": [*lines, {**comment, "locationId": NULL_GUID}]}, order["id"])
    tenant, connector = await bc_tenant(sync_deps, owner_pool, make_tenant, bc)
    await completed_run(sync_deps, tenant, connector)
    state = await snapshot(owner_pool, tenant.id)
    assert [(o[0], o[2], len(json.loads(o[6]))) for o in state["orders"] if o[0] == "106901"] == [("106901", "MAIN", 2)]
    assert [letter for letter in state["dead_letters"] if letter[0] == "purchase_orders"] == []


def order_106901(bc: FakeDynamics) -> dict:
    """Business Central's order 106901 (two lines in the sample data)."""
    order: dict = next(o for o in bc.tables["purchaseOrders"].values() if o["number"] == "106901")
    return order


async def synced_106901(sync_deps, owner_pool, make_tenant, bc, lines: list[dict], column: str) -> list[tuple]:
    """Order 106901 given ``lines`` in Business Central, synced into a new tenant: (line_no, ``column``) of each of
    its lines here, by line_no."""
    bc.put("purchaseOrders", {"purchaseOrderLines": lines}, order_106901(bc)["id"])
    tenant, connector = await bc_tenant(sync_deps, owner_pool, make_tenant, bc)
    await completed_run(sync_deps, tenant, connector)
    rows = await owner_pool.fetch(
        f"""SELECT l.line_no, l.{column} FROM app.purchase_order_lines l
           JOIN app.purchase_orders po ON po.id = l.purchase_order_id
           WHERE po.tenant_id = $1 AND po.number = '106901' ORDER BY l.line_no""",
        tenant.id,
    )
    return [(r["line_no"], r[column]) for r in rows]


async def test_a_line_is_priced_net_of_its_line_discount(sync_deps, owner_pool, make_tenant, bc):
    # directUnitCost is the price before the line discount: the order was synced at the gross price.
    first, second = order_106901(bc)["purchaseOrderLines"]
    discounted = {**first, "quantity": 10.0, "directUnitCost": 100.0, "discountPercent": 10.0, "discountAmount": 100.0}
    prices = await synced_106901(sync_deps, owner_pool, make_tenant, bc, [discounted, second], "unit_price")
    assert prices == [(1, 90), (2, Decimal("3.5"))]


async def test_a_line_whose_rounded_discount_passes_its_value_syncs_at_a_price_of_zero(
    sync_deps, owner_pool, make_tenant, bc
):
    # BC rounds discountAmount to the currency: 3 at 0.333 with 100% off is 1.00 off, a net price of -0.000333 the
    # line's unit_price (ge=0) refused, and the whole order was dead-lettered.
    first, second = order_106901(bc)["purchaseOrderLines"]
    free = {**first, "quantity": 3.0, "directUnitCost": 0.333, "discountPercent": 100.0, "discountAmount": 1.0}
    prices = await synced_106901(sync_deps, owner_pool, make_tenant, bc, [free, second], "unit_price")
    assert prices == [(1, 0), (2, Decimal("3.5"))]


async def test_a_line_of_an_order_whose_prices_include_vat_is_priced_net_of_it(sync_deps, owner_pool, make_tenant, bc):
    # With "Prices Including VAT" directUnitCost includes the line's VAT: 119 at 19% was synced as 119, beside other
    # suppliers' prices net of tax. The price is directUnitCost after the line discount, without the line's VAT.
    first, second = order_106901(bc)["purchaseOrderLines"]
    bc.put("purchaseOrders", {"pricesIncludeTax": True}, order_106901(bc)["id"])
    plain = {**first, "quantity": 10.0, "directUnitCost": 119.0, "taxPercent": 19.0, **NO_DISCOUNT}
    # 4 at 11.90 is 47.60, less 10% (4.76) is 42.84 including VAT: 36.00 without, 9.00 a unit.
    discounted = {**second, "directUnitCost": 11.9, "taxPercent": 19.0, "discountPercent": 10.0, "discountAmount": 4.76}
    prices = await synced_106901(sync_deps, owner_pool, make_tenant, bc, [plain, discounted], "unit_price")
    assert prices == [(1, 100), (2, 9)]


async def test_a_line_of_a_few_cents_including_vat_is_priced_without_the_line_amounts_rounding(
    sync_deps, owner_pool, make_tenant, bc
):
    # BC rounds amountExcludingTax to cents (0.14 / 1.19 = 0.12): read per unit it was 0.0171, which loses more
    # than a price may, so the order was dead-lettered; the unit price without VAT is 0.02 / 1.19 = 0.0168.
    first, second = order_106901(bc)["purchaseOrderLines"]
    bc.put("purchaseOrders", {"pricesIncludeTax": True}, order_106901(bc)["id"])
    cents = {**first, "quantity": 7.0, "directUnitCost": 0.02, "taxPercent": 19.0, **NO_DISCOUNT}
    prices = await synced_106901(sync_deps, owner_pool, make_tenant, bc, [cents, second], "unit_price")
    assert prices == [(1, Decimal("0.0168")), (2, Decimal("3.5"))]


async def test_a_line_of_an_order_whose_prices_exclude_vat_keeps_its_price(sync_deps, owner_pool, make_tenant, bc):
    first, second = order_106901(bc)["purchaseOrderLines"]
    taxed = {**first, "quantity": 10.0, "directUnitCost": 100.0, "taxPercent": 19.0}
    prices = await synced_106901(sync_deps, owner_pool, make_tenant, bc, [taxed, second], "unit_price")
    assert prices == [(1, 100), (2, Decimal("3.5"))]


async def test_a_line_inserted_between_two_keeps_the_order_in_sequence(sync_deps, owner_pool, make_tenant, bc):
    # Business Central numbers an inserted line 15000 (and one before the first 5000): 15000 // 10000 repeated
    # line 1, and the order was dead-lettered.
    first, second = order_106901(bc)["purchaseOrderLines"]
    inserted = {**second, "id": "inserted", "sequence": 15000, "quantity": 9.0}
    lines = await synced_106901(sync_deps, owner_pool, make_tenant, bc, [first, inserted, second], "quantity")
    assert lines == [(1, 4), (2, 9), (3, 4)]


async def test_expired_token_is_renewed_once_and_the_sync_goes_on(sync_deps, owner_pool, make_tenant, bc):
    tenant, connector = await bc_tenant(sync_deps, owner_pool, make_tenant, bc)
    bc.drop_after(3)
    assert (await run_sync(sync_deps, tenant.id, connector))["status"] == "failed"
    bc.heal()
    bc.expire_tokens()
    run = await run_sync(sync_deps, tenant.id, connector)
    assert run["status"] == "completed_with_errors" and run["error"] is None
    assert bc.count("POST", "/contoso.onmicrosoft.com/oauth2/v2.0/token") >= 2
    assert len((await snapshot(owner_pool, tenant.id))["orders"]) == 2


async def test_connection_drop_half_way_then_rerun_equals_an_uninterrupted_sync(sync_deps, owner_pool, make_tenant, bc):
    clean, clean_connector = await bc_tenant(sync_deps, owner_pool, make_tenant, bc)
    await run_sync(sync_deps, clean.id, clean_connector)
    tenant, connector = await bc_tenant(sync_deps, owner_pool, make_tenant, bc)
    bc.drop_after(4)  # token, locations, vendors, the first page of items; then Business Central goes away
    assert "connection lost" in await failed_run(sync_deps, tenant, connector)
    partial = await snapshot(owner_pool, tenant.id)
    assert len(partial["products"]) == 3 and partial["orders"] == []  # a page of 4 items, one dead-lettered
    bc.heal()
    rerun = await run_sync(sync_deps, tenant.id, connector)
    assert rerun["status"] == "completed_with_errors", rerun
    assert await snapshot(owner_pool, tenant.id) == await snapshot(owner_pool, clean.id)


async def test_wrong_client_secret_fails_the_run_with_the_identity_platform_error(
    sync_deps, owner_pool, make_tenant, bc
):
    tenant, connector = await bc_tenant(sync_deps, owner_pool, make_tenant, bc, secret="wrong")
    assert "invalid_client" in await failed_run(sync_deps, tenant, connector)


async def _synced_draft(sync_deps, owner_pool, make_tenant, bc):
    """A tenant synced from Business Central, its connector, and a USD draft for vendor 30000 into MAIN."""
    tenant, connector = await bc_tenant(sync_deps, owner_pool, make_tenant, bc)
    await run_sync(sync_deps, tenant.id, connector)
    order = await draft_order(sync_deps, tenant, "30000", "MAIN", [("1002", 7, None, "2.25")], currency="USD")
    return tenant, connector, order


async def _cancel(sync_deps, tenant, order_id) -> dict:
    return await sync_deps.database.run(
        tenant.claims(), None, lambda tx: purchasing.cancel_order(tx.conn, tx.tenant_id, order_id)
    )


async def test_two_pushes_of_one_order_at_once_make_one_business_central_order(sync_deps, owner_pool, make_tenant, bc):
    # Business Central has no field a lookup could find a pushed order by: before the claim, both pushes passed
    # the "already pushed" check while the first waited for BC, and BC held two orders.
    tenant, connector, order = await _synced_draft(sync_deps, owner_pool, make_tenant, bc)
    bc.slow_down(lambda r: r.method == "POST" and r.path.endswith("/purchaseOrders"), 0.5)
    before = set(bc.tables["purchaseOrders"])

    outcomes = await asyncio.gather(
        *(push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"]) for _ in range(2)),
        return_exceptions=True,
    )
    pushed = [o for o in outcomes if isinstance(o, dict)]
    refused = [o for o in outcomes if isinstance(o, ConflictError)]
    assert len(pushed) == 1 and [e.code for e in refused] == ["push_in_progress"], outcomes
    assert set(bc.tables["purchaseOrders"]) - before == {pushed[0]["external_id"]}
    with pytest.raises(ConflictError, match="already in"):  # and once answered, the claim has gone
        await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])


def _pushing(bc: FakeDynamics, seconds: float) -> asyncio.Event:
    """Slows BC's answer to a push; the event is set when the push reaches BC (its claim committed)."""
    reached = asyncio.Event()
    loop = asyncio.get_running_loop()

    def is_push(request: Request) -> bool:
        if request.method == "POST" and request.path.endswith("/purchaseOrders"):
            loop.call_soon_threadsafe(reached.set)  # the fake answers on a thread of its own
            return True
        return False

    bc.slow_down(is_push, seconds)
    return reached


async def _another_line(owner_pool, tenant) -> PurchaseOrderLineCreate:
    product = await owner_pool.fetchval("SELECT id FROM app.products WHERE tenant_id = $1 AND sku = '1001'", tenant.id)
    return PurchaseOrderLineCreate(product_id=product, quantity=Decimal(5), unit_price=Decimal("1.5"))


async def test_an_order_being_pushed_is_not_cancelled_or_changed_until_business_central_has_answered(
    sync_deps, owner_pool, make_tenant, bc
):
    # The order is linked to BC only once BC has answered: before, a cancel meanwhile went through while BC kept the
    # order (every later sync dead-lettered it), and a line added meanwhile was deleted by the next sync.
    tenant, connector, order = await _synced_draft(sync_deps, owner_pool, make_tenant, bc)
    line = await _another_line(owner_pool, tenant)
    reached = _pushing(bc, 1.0)

    async def meanwhile(change):
        await reached.wait()
        return await sync_deps.database.run(tenant.claims(), None, change)

    pushed, *changes = await asyncio.gather(
        push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"]),
        meanwhile(lambda tx: purchasing.cancel_order(tx.conn, tx.tenant_id, order["id"])),
        meanwhile(lambda tx: purchasing.add_line(tx.conn, tx.tenant_id, order["id"], line)),
        return_exceptions=True,
    )
    assert [getattr(change, "code", change) for change in changes] == ["push_in_progress"] * 2
    after = await sync_deps.database.run(tenant.claims(), None, lambda tx: purchasing.get_order(tx.conn, order["id"]))
    assert after == order
    assert len(bc.tables["purchaseOrders"][pushed["external_id"]]["purchaseOrderLines"]) == 1
    with pytest.raises(ConflictError) as refused:  # and once BC holds it, the order is BC's
        await _cancel(sync_deps, tenant, order["id"])
    assert refused.value.code == "erp_managed"


async def _claim_left_by_a_push_that_died(owner_pool, tenant, connector, order_id) -> None:
    await owner_pool.execute(
        """INSERT INTO app.integration_push_claims (tenant_id, connector_id, purchase_order_id, claimed_at)
           VALUES ($1, $2, $3, now() - interval '10 minutes 1 second')""",
        tenant.id,
        connector,
        order_id,
    )


@pytest.mark.parametrize("taking_over", [False, True], ids=["first push", "taking over a dead push's claim"])
async def test_a_push_waits_for_an_edit_under_way_and_sends_the_order_with_it(
    sync_deps, owner_pool, make_tenant, bc, taking_over
):
    # A new claim waits for the edit's lock on the order (its foreign key), a claim taken over did not: that push
    # sent the order without the new line, which the next sync then deleted.
    tenant, connector, order = await _synced_draft(sync_deps, owner_pool, make_tenant, bc)
    if taking_over:
        await _claim_left_by_a_push_that_died(owner_pool, tenant, connector, order["id"])
    line = await _another_line(owner_pool, tenant)
    added = asyncio.Event()

    async def add_slowly(tx):
        changed = await purchasing.add_line(tx.conn, tx.tenant_id, order["id"], line)
        added.set()
        await asyncio.sleep(0.5)  # the rest of the request before its commit
        return changed

    async def push_after_the_line():
        await added.wait()
        return await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])

    _, pushed = await asyncio.gather(sync_deps.database.run(tenant.claims(), None, add_slowly), push_after_the_line())
    assert len(bc.tables["purchaseOrders"][pushed["external_id"]]["purchaseOrderLines"]) == 2


async def test_an_order_whose_push_failed_can_be_changed_again(sync_deps, owner_pool, make_tenant, bc):
    tenant, connector, order = await _synced_draft(sync_deps, owner_pool, make_tenant, bc)
    refusal = Response(400, {"error": {"code": "BadRequest", "message": "The vendor is blocked."}})
    bc.answer_next(f"/api/v2.0/companies({bc.company_id})/purchaseOrders", refusal)
    with pytest.raises(ConnectorProtocolError, match="blocked"):
        await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])
    cancelled = await _cancel(sync_deps, tenant, order["id"])
    assert cancelled["status"] == "cancelled"


async def test_a_claim_left_by_a_push_that_died_holds_the_order_no_longer_than_another_push_waits(
    sync_deps, owner_pool, make_tenant, bc
):
    tenant, connector, order = await _synced_draft(sync_deps, owner_pool, make_tenant, bc)
    await _claim_left_by_a_push_that_died(owner_pool, tenant, connector, order["id"])
    cancelled = await _cancel(sync_deps, tenant, order["id"])
    assert cancelled["status"] == "cancelled"


async def test_an_issued_order_pushed_stays_issued_while_business_central_holds_it_as_a_draft(
    sync_deps, owner_pool, make_tenant, bc
):
    # Business Central creates pushed orders as drafts: before, the next sync tried to move the issued order back
    # to draft, and dead-lettered it ("is issued and cannot become draft") with every later change of it.
    tenant, connector, order = await _synced_draft(sync_deps, owner_pool, make_tenant, bc)
    await sync_deps.database.run(
        tenant.claims(), None, lambda tx: purchasing.issue_order(tx.conn, tx.tenant_id, order["id"])
    )
    await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])
    await run_sync(sync_deps, tenant.id, connector)
    state = await snapshot(owner_pool, tenant.id)
    assert [letter for letter in state["dead_letters"] if letter[0] == "purchase_orders"] == []
    async with owner_pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM app.purchase_orders WHERE id = $1", order["id"]) == "issued"


async def test_a_draft_whose_supplier_was_deactivated_since_is_not_pushed_to_business_central(
    sync_deps, owner_pool, make_tenant, bc
):
    # Issuing the draft here is 409 inactive_supplier; pushed, Business Central took it all the same, and once
    # released there the next sync brought it back issued.
    tenant, connector, order = await _synced_draft(sync_deps, owner_pool, make_tenant, bc)
    async with owner_pool.acquire() as conn:
        await conn.execute("UPDATE app.suppliers SET active = false WHERE tenant_id = $1 AND code = '30000'", tenant.id)
    before = set(bc.tables["purchaseOrders"])
    with pytest.raises(ConflictError) as refused:
        await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])
    assert refused.value.code == "inactive_supplier"
    assert set(bc.tables["purchaseOrders"]) == before


async def test_pushed_purchase_order_appears_in_business_central_with_its_lines(sync_deps, owner_pool, make_tenant, bc):
    tenant, connector = await bc_tenant(sync_deps, owner_pool, make_tenant, bc)
    await run_sync(sync_deps, tenant.id, connector)

    _, pushed = await push_draft(
        sync_deps, tenant, connector, "30000", "MAIN", [("1002", 7, None, "2.25")], currency="USD"
    )
    created = bc.tables["purchaseOrders"][pushed["external_id"]]
    vendor = next(v for v in bc.tables["vendors"].values() if v["number"] == "30000")
    item = next(i for i in bc.tables["items"].values() if i["number"] == "1002")
    location = next(iter(bc.tables["locations"]))
    assert created["vendorId"] == vendor["id"] and created["currencyCode"] == "USD"
    assert [
        (x["sequence"], x["itemId"], x["quantity"], x["unitOfMeasureCode"], x["directUnitCost"], x["locationId"])
        for x in created["purchaseOrderLines"]
    ] == [(10000, item["id"], 7.0, "kg", 2.25, location)]


async def _pushed_and_synced(sync_deps, owner_pool, make_tenant, bc) -> tuple[dict, Decimal]:
    """_synced_draft's order (7 kg of 1002 at 2.25 from vendor 30000) pushed to Business Central, then synced:
    (BC's order, the Chainsight line's unit price after the sync)."""
    tenant, connector, order = await _synced_draft(sync_deps, owner_pool, make_tenant, bc)
    pushed = await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])
    await run_sync(sync_deps, tenant.id, connector)
    price = await owner_pool.fetchval(
        "SELECT unit_price FROM app.purchase_order_lines WHERE purchase_order_id = $1", order["id"]
    )
    return bc.tables["purchaseOrders"][pushed["external_id"]], price


async def test_an_order_pushed_to_a_vendor_whose_prices_include_vat_goes_at_prices_excluding_it(
    sync_deps, owner_pool, make_tenant, bc
):
    # A new order takes its vendor's "Prices Including VAT": Chainsight's price, net of tax, was read there as one
    # including 19% VAT (the order under-priced in BC by the VAT), and the sync read it back 19% lower.
    vendor = next(v["id"] for v in bc.tables["vendors"].values() if v["number"] == "30000")
    bc.prices_including_vat.add(vendor)
    bc.vat_percent[next(i["id"] for i in bc.tables["items"].values() if i["number"] == "1002")] = 19.0
    created, price = await _pushed_and_synced(sync_deps, owner_pool, make_tenant, bc)
    assert created["pricesIncludeTax"] is False
    assert [(x["directUnitCost"], x["amountExcludingTax"]) for x in created["purchaseOrderLines"]] == [(2.25, 15.75)]
    assert price == Decimal("2.25")


async def test_a_vendor_line_discount_business_central_puts_on_a_pushed_order_is_the_price_synced(
    sync_deps, owner_pool, make_tenant, bc
):
    # BC applies the vendor's purchase line discount to the pushed line: 7 at 2.25 (15.75) less 20% (3.15) is owed
    # 12.60, 1.80 a unit. That is the line's price here from the next sync on (spend, the price history and the
    # last price paid count what is owed), as with any price the ERP that holds the order changes.
    vendor = next(v["id"] for v in bc.tables["vendors"].values() if v["number"] == "30000")
    bc.line_discounts[vendor, next(i["id"] for i in bc.tables["items"].values() if i["number"] == "1002")] = 20.0
    created, price = await _pushed_and_synced(sync_deps, owner_pool, make_tenant, bc)
    assert [(x["directUnitCost"], x["discountAmount"]) for x in created["purchaseOrderLines"]] == [(2.25, 3.15)]
    assert price == Decimal("1.8")
