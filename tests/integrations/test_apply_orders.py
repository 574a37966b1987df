"""Applying ERP purchase orders: which stored line an ERP order line is, when the ERP numbers its lines by
position, and an order whose figures the order summaries cannot keep."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

from integrations.apply_orders import lines_as_stored
from integrations.sync import run_sync
from tests.integrations.conftest import dead_letters, sap_tenant

BOX, KG = uuid4(), uuid4()


def stored_line(product, received=Decimal(0), here=Decimal(0)):
    return {"product_id": product, "uom_factor": Decimal(1), "received_base": received, "received_here": here}


NONE = Decimal(0)


def test_a_line_shifted_by_one_added_above_it_is_matched_to_its_stored_self():
    box = stored_line(BOX)
    assert lines_as_stored([(1, KG), (2, BOX)], {1: box}, {1: NONE, 2: NONE}) == {2: box}


def test_each_stored_line_serves_one_incoming_line_and_a_same_numbered_one_first():
    first, second = stored_line(BOX), stored_line(BOX)
    assert lines_as_stored([(2, BOX), (3, BOX)], {2: first, 5: second}, {2: NONE, 3: NONE}) == {2: first, 3: second}


def test_a_line_of_a_product_never_stored_has_no_stored_self():
    assert lines_as_stored([(1, KG)], {1: stored_line(BOX)}, {1: NONE}) == {}


def test_a_received_line_is_not_taken_for_a_line_of_another_number_that_reports_less_received():
    # Its product changed and re-added further down: the new line is not the received one moved. Only what the ERP
    # itself reported received counts (19e89e4): it never reports receipts made here, so a line received only here
    # that moves up a number is still that line.
    by_erp, by_receipt = stored_line(BOX, received=Decimal(2)), stored_line(BOX, here=Decimal(2))
    assert lines_as_stored([(1, KG), (3, BOX)], {1: by_erp}, {1: NONE, 3: NONE}) == {}
    assert lines_as_stored([(1, KG), (3, BOX)], {1: by_receipt}, {1: NONE, 3: NONE}) == {3: by_receipt}
    assert lines_as_stored([(1, KG), (3, BOX)], {1: by_erp}, {1: NONE, 3: Decimal(2)}) == {3: by_erp}


async def test_an_order_whose_total_rounds_past_what_the_summaries_keep_is_rejected_and_the_others_listed(
    sync_deps, owner_pool, make_tenant, sap
):
    # 99999999999999.99995 is below 10^14, but the summaries view rounds it to four decimals, where it overflowed
    # numeric(18, 4): every list, read and export of the tenant's orders failed.
    tenant, connector = await sap_tenant(sync_deps, owner_pool, make_tenant, sap)
    items = sap.sets["A_PurchaseOrder"]["4500000000"]["to_PurchaseOrderItem"]
    huge = {"OrderQuantity": Decimal(99999999999999), "NetPriceAmount": Decimal(1), "NetPriceQuantity": Decimal(1)}
    half = {"OrderQuantity": Decimal("0.5"), "NetPriceAmount": Decimal("1.9999"), "NetPriceQuantity": Decimal(1)}
    sap.put("A_PurchaseOrder", "4500000000", {"to_PurchaseOrderItem": [{**items[0], **huge}, {**items[1], **half}]})
    await run_sync(sync_deps, tenant.id, connector)
    assert await dead_letters(owner_pool, tenant.id, "purchase_orders") == [
        (
            "4500000000",
            f"line 2 ({items[1]['Material']}) brings the order's total to 99999999999999.99995, past the largest "
            "amount kept (100000000000000): split it in the ERP",
        )
    ]
    listed = await owner_pool.fetch(  # the totals too: their cast is what overflowed
        """SELECT s.number, s.total_amount FROM app.purchase_order_summaries s
           JOIN app.purchase_orders po ON po.id = s.id WHERE po.tenant_id = $1 ORDER BY s.number""",
        tenant.id,
    )
    assert [r["number"] for r in listed] == ["4500000001", "4500000002"]
