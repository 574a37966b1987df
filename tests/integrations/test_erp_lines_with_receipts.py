"""An ERP edit of an order line that has receipts (its product changed, or the line removed): the goods received
stay what they were. Until 2026-12-07 a changed product was written under the line's receipts (the receipt said
SKU-000003 arrived, the line now said SKU-000002), and a removed line with receipts here was refused by the
receipts' foreign key and the order dead-lettered with the database's message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from common.migrate import load_migrations
from integrations.sync import run_sync
from inventory.purchasing import get_order
from inventory.stock import LedgerEntry, insert_movement
from tests.integrations.conftest import bare_tenant, odoo_connector, snapshot
from tests.support.fakes.odoo import FakeOdoo, populate


@pytest.fixture
def odoo() -> Iterator[FakeOdoo]:
    with FakeOdoo() as fake:
        populate(fake)
        yield fake


def p00002_line(odoo: FakeOdoo, sku: str) -> tuple[int, int]:
    """(Odoo's P00002, its line of ``sku``): the confirmed order of SKU-000003 5 kg and SKU-000004 6 each."""
    order = next(i for i, o in odoo.models["purchase.order"].items() if o["name"] == "P00002")
    product = next(i for i, p in odoo.models["product.product"].items() if p["default_code"] == sku)
    line = next(i for i, x in odoo.models["purchase.order.line"].items()
                if x["order_id"][0] == order and x["product_id"][0] == product)  # fmt: skip
    return order, line


def edit_line(odoo: FakeOdoo, sku: str, values: dict[str, Any]) -> None:
    order, line = p00002_line(odoo, sku)
    odoo.put("purchase.order.line", values, line)
    odoo.put("purchase.order", {}, order)


def remove_line(odoo: FakeOdoo, sku: str) -> None:
    order, line = p00002_line(odoo, sku)
    del odoo.models["purchase.order.line"][line]
    odoo.put("purchase.order", {}, order)


async def received_in_odoo(sync_deps, owner_pool, make_tenant, odoo, sku: str) -> tuple[Any, Any]:
    """A tenant whose sync has brought Odoo's receipt of 2 on P00002's line of ``sku``."""
    tenant = await bare_tenant(owner_pool, make_tenant)
    connector = await odoo_connector(sync_deps, tenant, odoo.url)
    await run_sync(sync_deps, tenant.id, connector)
    edit_line(odoo, sku, {"qty_received": 2.0})
    await run_sync(sync_deps, tenant.id, connector)
    return tenant, connector


async def received_here(owner_pool, tenant, sku: str, quantity: Decimal) -> None:
    """A receipt recorded here on P00002's line of ``sku`` (as before 2026-12-06, when an ERP's order could be)."""
    async with owner_pool.acquire() as conn, conn.transaction():
        line = await conn.fetchrow(
            """SELECT l.id, l.product_id, po.id AS order_id, po.warehouse_id FROM app.purchase_order_lines l
               JOIN app.purchase_orders po ON po.id = l.purchase_order_id JOIN app.products p ON p.id = l.product_id
               WHERE po.tenant_id = $1 AND po.number = 'P00002' AND p.sku = $2""",
            tenant.id,
            sku,
        )
        entry = LedgerEntry(line["product_id"], line["warehouse_id"], "receipt", quantity, reference="P00002")
        movement = (await insert_movement(conn, tenant.id, entry))["id"]
        receipt = await conn.fetchval(
            "INSERT INTO app.purchase_receipts (tenant_id, purchase_order_id) VALUES ($1, $2) RETURNING id",
            tenant.id,
            line["order_id"],
        )
        await conn.execute(
            """INSERT INTO app.purchase_receipt_lines
                   (tenant_id, receipt_id, purchase_order_line_id, quantity, quantity_base, movement_id)
               VALUES ($1, $2, $3, $4, $4, $5)""",
            tenant.id,
            receipt,
            line["id"],
            quantity,
            movement,
        )


async def p00002(owner_pool, tenant) -> list[tuple[Any, ...]]:
    """P00002's lines: (number, kept here after the ERP gave it up, SKU, ordered, received, backorder closed), and
    the receipts here, per SKU."""
    rows = await owner_pool.fetch(
        """SELECT l.line_no, l.erp_given_up_at IS NOT NULL AS kept, p.sku, l.quantity_base, l.received_base,
                  l.cancelled_base,
                  (SELECT coalesce(sum(r.quantity_base), 0) FROM app.purchase_receipt_lines r
                   WHERE r.purchase_order_line_id = l.id) AS received_here
           FROM app.purchase_order_lines l JOIN app.purchase_orders po ON po.id = l.purchase_order_id
           JOIN app.products p ON p.id = l.product_id
           WHERE po.tenant_id = $1 AND po.number = 'P00002' ORDER BY l.line_no, l.erp_given_up_at NULLS FIRST""",
        tenant.id,
    )
    return [tuple(r) for r in rows]


async def p00002_dead_letters(owner_pool, tenant, odoo) -> list[str]:
    order = next(i for i, o in odoo.models["purchase.order"].items() if o["name"] == "P00002")
    rows = await owner_pool.fetch(
        "SELECT error FROM app.integration_dead_letters WHERE tenant_id = $1 AND external_id = $2"
        " AND resolved_at IS NULL",
        tenant.id,
        str(order),
    )
    return [r["error"] for r in rows]


async def notices(owner_pool, tenant) -> list[str]:
    rows = await owner_pool.fetch(
        "SELECT title FROM app.notifications WHERE tenant_id = $1 AND kind = 'erp_order_line_kept' ORDER BY title",
        tenant.id,
    )
    return [r["title"] for r in rows]


async def rerun_changes_nothing(sync_deps, owner_pool, tenant, connector, odoo) -> None:
    before = await snapshot(owner_pool, tenant.id), await p00002(owner_pool, tenant), await notices(owner_pool, tenant)
    order = next(i for i, o in odoo.models["purchase.order"].items() if o["name"] == "P00002")
    odoo.put("purchase.order", {}, order)  # read again, as is
    run = await run_sync(sync_deps, tenant.id, connector)
    assert run["counts"]["purchase_orders"]["updated"] == 0, run
    after = await snapshot(owner_pool, tenant.id), await p00002(owner_pool, tenant), await notices(owner_pool, tenant)
    assert after == before


D = Decimal


async def test_a_received_line_whose_product_the_erp_changes_is_closed_and_the_new_product_is_a_new_line(
    sync_deps, owner_pool, make_tenant, odoo
):
    tenant, connector = await received_in_odoo(sync_deps, owner_pool, make_tenant, odoo, "SKU-000003")
    sku2 = next(i for i, p in odoo.models["product.product"].items() if p["default_code"] == "SKU-000002")
    each = odoo.models["product.product"][sku2]["uom_id"]
    edit_line(odoo, "SKU-000003", {"product_id": odoo.name_of("product.product", sku2), odoo.line_unit: each,
                                   "qty_received": 0.0})  # fmt: skip
    await run_sync(sync_deps, tenant.id, connector)
    assert await p00002_dead_letters(owner_pool, tenant, odoo) == []
    # The kept line keeps the number the buyer knows it by; the ERP's new line has it too.
    assert await p00002(owner_pool, tenant) == [
        (1, False, "SKU-000002", D(5), D(0), D(0), D(0)),
        (1, True, "SKU-000003", D(5), D(2), D(3), D(0)),
        (2, False, "SKU-000004", D(6), D(0), D(0), D(0)),
    ]
    # Odoo now reads as nothing received; the 2 kg came all the same.
    assert (
        await owner_pool.fetchval(
            "SELECT status FROM app.purchase_orders WHERE tenant_id = $1 AND number = 'P00002'", tenant.id
        )
        == "partially_received"
    )
    assert await notices(owner_pool, tenant) == [
        "P00002: the ERP no longer orders SKU-000003 on line 1 (now SKU-000002), which has 2 kg received; that line "
        "is kept here, closed at what was received, and the ERP's line is a line of its own"
    ]
    await rerun_changes_nothing(sync_deps, owner_pool, tenant, connector, odoo)


async def test_a_line_received_here_that_the_erp_removes_is_closed_not_deleted(
    sync_deps, owner_pool, make_tenant, odoo
):
    tenant, connector = await received_in_odoo(sync_deps, owner_pool, make_tenant, odoo, "SKU-000004")
    await received_here(owner_pool, tenant, "SKU-000004", D(1))
    remove_line(odoo, "SKU-000004")
    await run_sync(sync_deps, tenant.id, connector)
    assert await p00002_dead_letters(owner_pool, tenant, odoo) == []
    assert await p00002(owner_pool, tenant) == [
        (1, False, "SKU-000003", D(5), D(0), D(0), D(0)),
        (2, True, "SKU-000004", D(6), D(2), D(4), D(1)),
    ]
    assert await notices(owner_pool, tenant) == [
        "P00002: the ERP no longer has line 2 (SKU-000004), which has 2 each received; that line is kept here, "
        "closed at what was received"
    ]
    await rerun_changes_nothing(sync_deps, owner_pool, tenant, connector, odoo)


async def test_a_received_line_that_moves_up_when_the_erp_removes_one_above_keeps_its_receipts(
    sync_deps, owner_pool, make_tenant, odoo
):
    # Odoo numbers lines by position: removing line 1 makes SKU-000004 line 1, which was written over line 1's
    # row (SKU-000003's receipts then read as SKU-000004's).
    tenant, connector = await received_in_odoo(sync_deps, owner_pool, make_tenant, odoo, "SKU-000004")
    await received_here(owner_pool, tenant, "SKU-000004", D(1))
    first = await owner_pool.fetchval(
        """SELECT l.erp_first_received_at FROM app.purchase_order_lines l
           JOIN app.purchase_orders po ON po.id = l.purchase_order_id
           WHERE po.tenant_id = $1 AND po.number = 'P00002' AND l.line_no = 2""",
        tenant.id,
    )
    remove_line(odoo, "SKU-000003")
    await run_sync(sync_deps, tenant.id, connector)
    assert await p00002_dead_letters(owner_pool, tenant, odoo) == []
    assert await p00002(owner_pool, tenant) == [(1, False, "SKU-000004", D(6), D(2), D(0), D(1))]
    assert first is not None and first == await owner_pool.fetchval(
        """SELECT l.erp_first_received_at FROM app.purchase_order_lines l
           JOIN app.purchase_orders po ON po.id = l.purchase_order_id
           WHERE po.tenant_id = $1 AND po.number = 'P00002'""",
        tenant.id,
    )
    await rerun_changes_nothing(sync_deps, owner_pool, tenant, connector, odoo)


async def test_the_order_read_through_the_api_shows_the_kept_line_under_its_number_given_up(
    sync_deps, owner_pool, make_tenant, odoo
):
    tenant, connector = await received_in_odoo(sync_deps, owner_pool, make_tenant, odoo, "SKU-000003")
    sku2 = next(i for i, p in odoo.models["product.product"].items() if p["default_code"] == "SKU-000002")
    each = odoo.models["product.product"][sku2]["uom_id"]
    edit_line(odoo, "SKU-000003", {"product_id": odoo.name_of("product.product", sku2), odoo.line_unit: each,
                                   "qty_received": 0.0})  # fmt: skip
    await run_sync(sync_deps, tenant.id, connector)
    async with owner_pool.acquire() as conn:
        order_id = await conn.fetchval(
            "SELECT id FROM app.purchase_orders WHERE tenant_id = $1 AND number = 'P00002'", tenant.id
        )
        order = await get_order(conn, order_id)
    shown = [(x["line_no"], x["sku"], x["backorder_base"], x["erp_given_up_at"] is not None) for x in order["lines"]]
    # The ERP's line 1 first, then the line it gave up, closed (nothing more to come on it).
    assert shown == [
        (1, "SKU-000002", D(5), False),
        (1, "SKU-000003", D(0), True),
        (2, "SKU-000004", D(6), False),
    ]


async def test_a_line_kept_under_a_number_from_2000000000_gets_its_number_back_from_its_notice(
    sync_deps, owner_pool, make_tenant, odoo
):
    # As 015dda3 kept it, before 0162: moved to 2000000000, not marked; its notice told the number it had.
    tenant, connector = await received_in_odoo(sync_deps, owner_pool, make_tenant, odoo, "SKU-000004")
    remove_line(odoo, "SKU-000004")
    await run_sync(sync_deps, tenant.id, connector)
    sql = next(m.sql for m in load_migrations() if m.version == 162)
    conversion = sql[sql.index("WITH kept AS") : sql.index(";", sql.index("WITH kept AS"))]
    told = await owner_pool.fetchval(
        "SELECT created_at FROM app.notifications WHERE tenant_id = $1 AND kind = 'erp_order_line_kept'", tenant.id
    )
    mark = "UPDATE app.purchase_order_lines SET line_no = 2000000000, erp_given_up_at = NULL WHERE tenant_id = $1"
    kept = "SELECT line_no, erp_given_up_at FROM app.purchase_order_lines WHERE tenant_id = $1 AND cancelled_base > 0"
    await owner_pool.execute(mark + " AND erp_given_up_at IS NOT NULL", tenant.id)
    await owner_pool.execute(conversion)
    assert tuple(await owner_pool.fetchrow(kept, tenant.id)) == (2, told)
    # Its notice gone, the line is marked all the same, under the number it has.
    await owner_pool.execute(mark + " AND erp_given_up_at IS NOT NULL", tenant.id)
    await owner_pool.execute("DELETE FROM app.notifications WHERE tenant_id = $1", tenant.id)
    await owner_pool.execute(conversion)
    line_no, given_up_at = await owner_pool.fetchrow(kept, tenant.id)
    assert line_no == 2000000000 and given_up_at is not None
    order = next(i for i, o in odoo.models["purchase.order"].items() if o["name"] == "P00002")
    odoo.put("purchase.order", {}, order)
    run = await run_sync(sync_deps, tenant.id, connector)
    assert run["counts"]["purchase_orders"]["updated"] == 0, run
    assert await p00002(owner_pool, tenant) == [
        (1, False, "SKU-000003", D(5), D(0), D(0), D(0)),
        (2000000000, True, "SKU-000004", D(6), D(2), D(4), D(0)),
    ]


async def p00002_status(owner_pool, tenant) -> str:
    return await owner_pool.fetchval(
        "SELECT status FROM app.purchase_orders WHERE tenant_id = $1 AND number = 'P00002'", tenant.id
    )


async def test_a_line_received_only_here_that_the_erp_removes_is_kept_at_what_arrived_here(
    sync_deps, owner_pool, make_tenant, odoo
):
    # The ERP never saw the 1 each (received_base, the ERP's, stays 0): until 2026-12-07 the kept line read 6
    # cancelled, 0 received, and the order went back to issued.
    tenant = await bare_tenant(owner_pool, make_tenant)
    connector = await odoo_connector(sync_deps, tenant, odoo.url)
    await run_sync(sync_deps, tenant.id, connector)
    await received_here(owner_pool, tenant, "SKU-000004", D(1))
    remove_line(odoo, "SKU-000004")
    await run_sync(sync_deps, tenant.id, connector)
    assert await p00002_dead_letters(owner_pool, tenant, odoo) == []
    assert await p00002(owner_pool, tenant) == [
        (1, False, "SKU-000003", D(5), D(0), D(0), D(0)),
        (2, True, "SKU-000004", D(6), D(1), D(5), D(1)),
    ]
    assert await p00002_status(owner_pool, tenant) == "partially_received"
    assert await notices(owner_pool, tenant) == [
        "P00002: the ERP no longer has line 2 (SKU-000004), which has 1 each received; that line is kept here, "
        "closed at what was received"
    ]
    await rerun_changes_nothing(sync_deps, owner_pool, tenant, connector, odoo)


async def test_a_line_kept_with_receipts_only_here_keeps_the_order_partly_received(
    sync_deps, owner_pool, make_tenant, odoo
):
    # A line kept before 2026-12-07 with the ERP's 0 received: its receipts here still say goods came.
    tenant = await bare_tenant(owner_pool, make_tenant)
    connector = await odoo_connector(sync_deps, tenant, odoo.url)
    await run_sync(sync_deps, tenant.id, connector)
    await received_here(owner_pool, tenant, "SKU-000004", D(1))
    remove_line(odoo, "SKU-000004")
    await run_sync(sync_deps, tenant.id, connector)
    await owner_pool.execute(
        "UPDATE app.purchase_order_lines SET received_base = 0, cancelled_base = quantity_base"
        " WHERE tenant_id = $1 AND erp_given_up_at IS NOT NULL",
        tenant.id,
    )
    # Odoo's order then reads as nothing received: an issued order, which this one, partly received, cannot become.
    edit_line(odoo, "SKU-000003", {"product_qty": 7.0})
    await run_sync(sync_deps, tenant.id, connector)
    assert await p00002_dead_letters(owner_pool, tenant, odoo) == []
    assert await p00002_status(owner_pool, tenant) == "partially_received"


@pytest.mark.parametrize("other_received", [False, True])
async def test_a_received_line_whose_product_changes_while_its_old_product_is_readded_keeps_its_receipts(
    sync_deps, owner_pool, make_tenant, odoo, other_received
):
    # The old product's new line (nothing received) was taken for the received line moved to its number: the ERP's
    # 0 received was written over the 2 kg (or, with nothing else received, the order dead-lettered as
    # "partially_received and cannot become issued").
    tenant, connector = await received_in_odoo(sync_deps, owner_pool, make_tenant, odoo, "SKU-000003")
    if other_received:
        edit_line(odoo, "SKU-000004", {"qty_received": 1.0})
        await run_sync(sync_deps, tenant.id, connector)
    order, line = p00002_line(odoo, "SKU-000003")
    old = dict(odoo.models["purchase.order.line"][line])
    sku2 = next(i for i, p in odoo.models["product.product"].items() if p["default_code"] == "SKU-000002")
    each = odoo.models["product.product"][sku2]["uom_id"]
    # The buyer fixes line 1 (SKU-000003 -> SKU-000002) and orders SKU-000003 again on a new line at the end.
    edit_line(odoo, "SKU-000003", {"product_id": odoo.name_of("product.product", sku2), odoo.line_unit: each,
                                   "qty_received": 0.0})  # fmt: skip
    readded = {k: v for k, v in old.items() if k not in ("id", "write_date")}
    readded.update({"product_qty": 3.0, "qty_received": 0.0})
    if "sequence" in readded:
        readded["sequence"] = 1000
    odoo.put("purchase.order.line", readded)
    odoo.put("purchase.order", {}, order)
    await run_sync(sync_deps, tenant.id, connector)
    assert await p00002_dead_letters(owner_pool, tenant, odoo) == []
    got = D(1) if other_received else D(0)
    assert await p00002(owner_pool, tenant) == [
        (1, False, "SKU-000002", D(5), D(0), D(0), D(0)),
        (1, True, "SKU-000003", D(5), D(2), D(3), D(0)),
        (2, False, "SKU-000004", D(6), got, D(0), D(0)),
        (3, False, "SKU-000003", D(3), D(0), D(0), D(0)),
    ]
    assert await p00002_status(owner_pool, tenant) == "partially_received"
    assert await notices(owner_pool, tenant) == [
        "P00002: the ERP no longer orders SKU-000003 on line 1 (now SKU-000002), which has 2 kg received; that line "
        "is kept here, closed at what was received, and the ERP's line is a line of its own"
    ]
    await rerun_changes_nothing(sync_deps, owner_pool, tenant, connector, odoo)


async def test_the_notice_of_a_removed_received_line_whose_number_the_next_line_takes_says_it_was_removed(
    sync_deps, owner_pool, make_tenant, odoo
):
    # Line 2 moving up to 1 read as the ERP's new product on line 1: "no longer orders SKU-000003 on line 1 (now
    # SKU-000004) ... the ERP's line is a line of its own", with SKU-000004 as the notice's erp_product_id.
    tenant, connector = await received_in_odoo(sync_deps, owner_pool, make_tenant, odoo, "SKU-000003")
    remove_line(odoo, "SKU-000003")
    await run_sync(sync_deps, tenant.id, connector)
    assert await p00002(owner_pool, tenant) == [
        (1, False, "SKU-000004", D(6), D(0), D(0), D(0)),
        (1, True, "SKU-000003", D(5), D(2), D(3), D(0)),
    ]
    assert await notices(owner_pool, tenant) == [
        "P00002: the ERP no longer has line 1 (SKU-000003), which has 2 kg received; that line is kept here, "
        "closed at what was received"
    ]
    data = json.loads(
        await owner_pool.fetchval(
            "SELECT data FROM app.notifications WHERE tenant_id = $1 AND kind = 'erp_order_line_kept'", tenant.id
        )
    )
    assert data["line_no"] == 1 and data["erp_product_id"] is None, data
