"""Odoo over JSON-RPC against a fake Odoo on loopback: full, incremental, rerun, failures, push."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from common.errors import ConflictError, InvalidInputError
from integrations.connector import ConnectorConfig
from integrations.errors import ConnectorProtocolError
from integrations.odoo import OdooConnector
from integrations.push import push_purchase_order
from integrations.records import Entity
from integrations.sync import run_sync
from tests.integrations.conftest import (
    bare_tenant,
    completed_run,
    draft_order,
    failed_run,
    lapse_push_claim,
    odoo_connector,
    order_numbers,
    push_draft,
    snapshot,
    sync_after_lost_push,
)
from tests.integrations.connector_checks import (
    failed_past_the_retry_budget,
    pushed_in_dozens_and_grams,
    retried_after_the_retry_after_delay,
)
from tests.support.fakes.odoo import FakeOdoo, populate
from tests.support.tenant_reads import as_planner
from training.supplier_history import supplier_history


@pytest.fixture
def odoo() -> Iterator[FakeOdoo]:
    with FakeOdoo() as fake:
        populate(fake)
        yield fake


@pytest.fixture
def odoo19() -> Iterator[FakeOdoo]:
    """An Odoo 19: JSON-2, and the order line's unit in product_uom_id."""
    with FakeOdoo(version=19) as fake:
        populate(fake)
        yield fake


async def odoo_tenant(sync_deps, owner_pool, make_tenant, fake: FakeOdoo, api_key: str = "odoo-key", **extra):
    tenant = await bare_tenant(owner_pool, make_tenant)
    url = extra.pop("base_url", fake.url)
    connector = await odoo_connector(sync_deps, tenant, url, api_key=api_key, **extra)
    return tenant, connector


async def test_initial_sync_creates_exactly_the_erp_records(sync_deps, owner_pool, make_tenant, odoo):
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    run = await completed_run(sync_deps, tenant, connector)
    assert run["counts"]["products"] == {"created": 3, "updated": 0, "unchanged": 0, "dead_lettered": 2}
    state = await snapshot(owner_pool, tenant.id)
    assert state["warehouses"] == [("WH", "Main warehouse"), ("WH2", "Overflow")]
    zones = await owner_pool.fetch("SELECT code, timezone FROM app.warehouses WHERE tenant_id = $1", tenant.id)
    assert sorted(map(tuple, zones)) == [("WH", "Europe/Brussels"), ("WH2", None)]  # its address's tz; none: not known
    # A vendor's purchase currency, else the company's (the mapping's default_currency).
    assert [(s[0], s[5]) for s in state["suppliers"]] == [("V000", "EUR"), ("V001", "EUR"), ("V002", "JPY")]
    assert state["products"] == [
        ("SKU-000002", "Product 2", "each", Decimal("1.5000"), "EUR", True),
        ("SKU-000003", "Product 3", "kg", Decimal("1.7500"), "EUR", True),
        ("SKU-000004", "Product 4", "each", Decimal("2.0000"), "EUR", True),
    ]
    # Quants in internal locations only, summed per product and warehouse, posted as ledger adjustments.
    assert state["levels"] == [
        ("SKU-000002", "WH", Decimal("20.0000")),
        ("SKU-000002", "WH2", Decimal("21.0000")),
        ("SKU-000003", "WH", Decimal("30.0000")),
        ("SKU-000003", "WH2", Decimal("31.0000")),
        ("SKU-000004", "WH", Decimal("40.0000")),
        ("SKU-000004", "WH2", Decimal("41.0000")),
    ]
    assert state["ledger"] == 6
    assert [(o[0], o[1], o[2], o[3], o[4]) for o in state["orders"]] == [
        ("P00001", "V000", "WH", "EUR", "draft"),
        ("P00002", "V001", "WH2", "EUR", "issued"),
        ("P00003", "V002", "WH", "EUR", "cancelled"),
    ]
    dead = {d[1]: d for d in state["dead_letters"]}
    assert len(dead) == 2
    async with owner_pool.acquire() as conn:
        errors = await conn.fetch(
            "SELECT error FROM app.integration_dead_letters WHERE tenant_id = $1 ORDER BY external_id", tenant.id
        )
    messages = " | ".join(r["error"] for r in errors)
    assert "sku" in messages and "'Crate' has no Chainsight equivalent" in messages


async def test_a_record_with_a_nul_character_is_dead_lettered_and_the_sync_goes_on(
    sync_deps, owner_pool, make_tenant, odoo
):
    # PostgreSQL's text and jsonb refuse U+0000; legacy ERP data can hold it. Before 2026-12-06 the dead letter
    # itself was refused (its payload is jsonb), which failed the run, and every rerun, at that record.
    with odoo.lock:
        bad = odoo.put("product.product", {"default_code": "NUL-NAME", "name": "Bad\x00name", "uom_id": [1, "Units"],
                                           "standard_price": 1.0, "active": True})  # fmt: skip
        odoo.put("product.product", {"default_code": "AFTER", "name": "Fine", "uom_id": [1, "Units"],
                                     "standard_price": 1.0, "active": True})  # fmt: skip
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    run = await completed_run(sync_deps, tenant, connector)
    assert run["counts"]["products"] == {"created": 4, "updated": 0, "unchanged": 0, "dead_lettered": 3}
    assert "AFTER" in [p[0] for p in (await snapshot(owner_pool, tenant.id))["products"]]
    async with owner_pool.acquire() as conn:
        letter = await conn.fetchrow(
            "SELECT error, payload FROM app.integration_dead_letters WHERE tenant_id = $1 AND external_id = $2",
            tenant.id,
            str(bad),
        )
    assert (
        letter["error"]
        == "field 'name' contains a NUL character, which the database cannot store: correct it in the ERP"
    )
    assert json.loads(letter["payload"])["name"] == "Bad\u2400name"  # kept for the operator, the NUL made visible


async def test_rerun_changes_nothing(sync_deps, owner_pool, make_tenant, odoo):
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    await run_sync(sync_deps, tenant.id, connector)
    before = await snapshot(owner_pool, tenant.id)
    async with owner_pool.acquire() as conn:
        stamps = await conn.fetchval("SELECT max(updated_at) FROM app.products WHERE tenant_id = $1", tenant.id)
    rerun = await run_sync(sync_deps, tenant.id, connector)
    assert all(c["created"] == c["updated"] == 0 for c in rerun["counts"].values()), rerun["counts"]
    assert await snapshot(owner_pool, tenant.id) == before
    async with owner_pool.acquire() as conn:
        assert await conn.fetchval("SELECT max(updated_at) FROM app.products WHERE tenant_id = $1", tenant.id) == stamps


async def test_incremental_sync_reads_from_the_cursor_and_applies_only_changes(
    sync_deps, owner_pool, make_tenant, odoo
):
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    await run_sync(sync_deps, tenant.id, connector)
    products = sorted(odoo.models["product.product"])
    odoo.put("product.product", {"name": "Product 2 (new label)"}, products[2])
    odoo.put("product.product", {"default_code": "SKU-000000"}, products[0])  # fixes the malformed one
    order = min(odoo.models["purchase.order"], key=lambda i: odoo.models["purchase.order"][i]["name"])
    odoo.put("purchase.order", {"state": "purchase"}, order)
    quant = next(q for q in odoo.models["stock.quant"].values() if q["product_id"][0] == products[3])
    odoo.put("stock.quant", {"quantity": quant["quantity"] + 5}, quant["id"])
    odoo.requests.clear()
    run = await run_sync(sync_deps, tenant.id, connector)
    # The bulk import gave all products one write_date, the cursor itself: they are re-read, not rewritten.
    assert run["counts"]["products"] == {"created": 1, "updated": 1, "unchanged": 2, "dead_lettered": 1}
    assert run["counts"]["purchase_orders"]["updated"] == 1
    assert run["counts"]["stock"] == {"created": 0, "updated": 1, "unchanged": 5, "dead_lettered": 0}
    state = await snapshot(owner_pool, tenant.id)
    assert ("SKU-000002", "Product 2 (new label)", "each", Decimal("1.5000"), "EUR", True) in state["products"]
    assert ("SKU-000000", "Product 0", "kg", Decimal("1.0000"), "EUR", True) in state["products"]
    assert ("SKU-000003", "WH", Decimal("35.0000")) in state["levels"]
    assert state["orders"][0][4] == "issued"
    assert [d for d in state["dead_letters"] if d[0] == "products"] == [("products", str(products[1]))]


def empty_sku2_at_wh2(odoo: FakeOdoo) -> None:
    """Odoo deletes an emptied quant: SKU-000002 moved out of WH2 leaves no row there to read."""
    sku2 = next(i for i, p in odoo.models["product.product"].items() if p["default_code"] == "SKU-000002")
    wh2 = next(i for i, w in odoo.models["stock.warehouse"].items() if w["code"] == "WH2")
    with odoo.lock:
        for quant_id, quant in list(odoo.models["stock.quant"].items()):
            if (quant["product_id"][0], quant["warehouse_id"][0]) == (sku2, wh2):
                del odoo.models["stock.quant"][quant_id]


async def test_stock_the_erp_no_longer_reports_goes_to_zero_once(sync_deps, owner_pool, make_tenant, odoo):
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    await run_sync(sync_deps, tenant.id, connector)
    empty_sku2_at_wh2(odoo)
    run = await run_sync(sync_deps, tenant.id, connector)
    assert run["counts"]["stock"] == {"created": 0, "updated": 1, "unchanged": 5, "dead_lettered": 0}
    state = await snapshot(owner_pool, tenant.id)
    assert ("SKU-000002", "WH2", Decimal("0.0000")) in state["levels"]
    assert ("SKU-000002", "WH", Decimal("20.0000")) in state["levels"]
    again = await run_sync(sync_deps, tenant.id, connector)
    assert again["counts"]["stock"] == {"created": 0, "updated": 0, "unchanged": 5, "dead_lettered": 0}


async def hold_sku2_at_wh2(owner_pool: Any, tenant: Any, quantity: int) -> None:
    """Sets SKU-000002's reserved quantity at WH2 (what creating a reservation, or ending it, does to the level)."""
    await owner_pool.execute(
        """UPDATE app.stock_levels l SET reserved = $2 FROM app.products p, app.warehouses w
           WHERE l.tenant_id = $1 AND p.id = l.product_id AND p.sku = 'SKU-000002'
             AND w.id = l.warehouse_id AND w.code = 'WH2'""",
        tenant.id,
        quantity,
    )


async def test_stock_no_longer_reported_but_reserved_is_dead_lettered_and_kept(
    sync_deps, owner_pool, make_tenant, odoo
):
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    await run_sync(sync_deps, tenant.id, connector)
    await hold_sku2_at_wh2(owner_pool, tenant, 5)
    empty_sku2_at_wh2(odoo)
    run = await run_sync(sync_deps, tenant.id, connector)
    assert run["counts"]["stock"]["dead_lettered"] == 1
    assert ("SKU-000002", "WH2", Decimal("21.0000")) in (await snapshot(owner_pool, tenant.id))["levels"]
    error = await owner_pool.fetchval(
        "SELECT error FROM app.integration_dead_letters WHERE tenant_id = $1 AND entity = 'stock'", tenant.id
    )
    assert "no longer reports stock" in error and "reserved" in error


async def test_stock_zeroed_once_its_hold_is_gone_resolves_its_dead_letter(sync_deps, owner_pool, make_tenant, odoo):
    # Until 2026-12-07 the level went to 0 but its dead letter stayed open for good.
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    await run_sync(sync_deps, tenant.id, connector)
    await hold_sku2_at_wh2(owner_pool, tenant, 5)
    empty_sku2_at_wh2(odoo)
    assert (await run_sync(sync_deps, tenant.id, connector))["counts"]["stock"]["dead_lettered"] == 1
    await hold_sku2_at_wh2(owner_pool, tenant, 0)
    await run_sync(sync_deps, tenant.id, connector)
    state = await snapshot(owner_pool, tenant.id)
    assert ("SKU-000002", "WH2", Decimal("0.0000")) in state["levels"]
    assert [d for d in state["dead_letters"] if d[0] == "stock"] == []


async def test_stock_no_longer_reported_whose_only_hold_has_expired_is_zeroed(sync_deps, owner_pool, make_tenant, odoo):
    # Before, the expired hold still counted in the level's reserved (until the release job ran): the snapshot was
    # dead-lettered for a reservation the API no longer showed.
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    await run_sync(sync_deps, tenant.id, connector)
    await owner_pool.execute(
        """WITH level AS (
               UPDATE app.stock_levels l SET reserved = 5 FROM app.products p, app.warehouses w
               WHERE l.tenant_id = $1 AND p.id = l.product_id AND p.sku = 'SKU-000002'
                 AND w.id = l.warehouse_id AND w.code = 'WH2'
               RETURNING l.product_id, l.warehouse_id)
           INSERT INTO app.reservations (tenant_id, product_id, warehouse_id, quantity, expires_at)
           SELECT $1, product_id, warehouse_id, 5, now() - interval '1 minute' FROM level""",
        tenant.id,
    )
    empty_sku2_at_wh2(odoo)
    run = await run_sync(sync_deps, tenant.id, connector)
    assert run["counts"]["stock"]["dead_lettered"] == 0
    assert ("SKU-000002", "WH2", Decimal("0.0000")) in (await snapshot(owner_pool, tenant.id))["levels"]


async def products_read(odoo: FakeOdoo, after_each_page: Callable[[Any, list[str]], None]) -> list[str]:
    """The product ids a connector with pages of 2 reads from the fake, calling ``after_each_page(page, read)``
    after each page."""
    config = ConnectorConfig(odoo.url, {"username": "sync@example.com", "api_key": "odoo-key"},
                             {"database": "prod"}, page_size=2)  # fmt: skip
    connector = OdooConnector(config)
    read: list[str] = []
    try:
        async for page in connector.pull(Entity.PRODUCTS, None):
            read.extend(record.external_id for record in page.records)
            after_each_page(page, read)
    finally:
        await connector.aclose()
    return read


async def test_a_record_edited_while_the_sync_pages_is_read_and_none_is_skipped(odoo):
    # Edited after the first page, the first product moves to the end of (write_date, id): an offset would skip
    # the product that slid into the first page's place.
    def edit_the_first(page: Any, read: list[str]) -> None:
        if len(read) == len(page.records):
            odoo.put("product.product", {"name": "Edited"}, int(page.records[0].external_id))

    assert set(await products_read(odoo, edit_the_first)) == {str(i) for i in odoo.models["product.product"]}


async def test_a_page_or_more_written_in_one_transaction_is_read_once_not_for_ever(odoo):
    # Odoo stamps one transaction's records alike, keeps the microseconds and answers whole seconds: before, the
    # (write_date, id) keyset matched the whole second again ("> S" holds for S.5) and served one page for ever.
    odoo.put_many("product.product", [{"default_code": f"BULK-{i}", "name": f"Bulk {i}", "uom_id": [1, "Units"],
                                       "active": True, "standard_price": 1.0} for i in range(5)])  # fmt: skip
    total = len(odoo.models["product.product"])

    def not_again(page: Any, read: list[str]) -> None:
        assert len(read) <= total, "the same pages again"

    assert sorted(await products_read(odoo, not_again)) == sorted(str(i) for i in odoo.models["product.product"])


async def test_an_orders_section_and_note_rows_are_not_goods(sync_deps, owner_pool, make_tenant, odoo):
    # Odoo keeps an order's section headings and notes as lines without a product (display_type): before, the
    # whole order was dead-lettered for them.
    order = min(odoo.models["purchase.order"])
    for kind, sequence in (("line_section", 5), ("line_note", 15)):
        odoo.put("purchase.order.line", {"order_id": [order, "P00001"], "sequence": sequence, "product_id": False,
                                         "name": "Fasteners", "display_type": kind, "product_qty": 0.0})  # fmt: skip
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    run = await run_sync(sync_deps, tenant.id, connector)
    assert run["counts"]["purchase_orders"]["dead_lettered"] == 0
    state = await snapshot(owner_pool, tenant.id)
    assert state["orders"][0][0] == "P00001" and state["orders"][0][6].count("SKU-") == 2


async def test_connection_drop_half_way_then_rerun_equals_an_uninterrupted_sync(
    sync_deps, owner_pool, make_tenant, odoo
):
    clean, clean_connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    await run_sync(sync_deps, clean.id, clean_connector)
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    # authenticate; for warehouses, suppliers and products the newest write (the window) and the pages, with the
    # warehouses' address time zones: up to the first page of products; then the ERP goes away
    odoo.drop_after(8)
    assert "connection lost" in await failed_run(sync_deps, tenant, connector)
    partial = await snapshot(owner_pool, tenant.id)
    assert partial["warehouses"] and partial["orders"] == []
    async with owner_pool.acquire() as conn:
        cursor = await conn.fetchval(
            "SELECT cursor FROM app.integration_sync_state WHERE connector_id = $1 AND entity = 'products'", connector
        )
    assert cursor is not None  # the first page of products was committed with its cursor
    odoo.heal()
    rerun = await run_sync(sync_deps, tenant.id, connector)
    # It resumes after the committed page, whose dead letters (malformed products) stay listed from the first run.
    assert rerun["status"] == "succeeded"
    assert await snapshot(owner_pool, tenant.id) == await snapshot(owner_pool, clean.id)


async def test_throttled_calls_are_retried_after_the_retry_after_delay(sync_deps, owner_pool, make_tenant, odoo):
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    await retried_after_the_retry_after_delay(sync_deps, tenant, connector, odoo)


async def test_throttling_past_the_retry_budget_fails_the_run_without_losing_data(
    sync_deps, owner_pool, make_tenant, odoo
):
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    await failed_past_the_retry_budget(sync_deps, owner_pool, tenant, connector, odoo, "products")


async def test_wrong_api_key_fails_the_run_with_a_clear_error(sync_deps, owner_pool, make_tenant, odoo):
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo, api_key="wrong")
    error = await failed_run(sync_deps, tenant, connector)
    assert "Odoo refused the login" in error
    assert (await snapshot(owner_pool, tenant.id))["warehouses"] == []


async def test_unreachable_erp_fails_the_run(sync_deps, owner_pool, make_tenant, odoo):
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo, base_url="http://127.0.0.1:9")
    assert "cannot connect" in await failed_run(sync_deps, tenant, connector)


async def test_pushed_purchase_order_appears_in_odoo_with_its_lines(sync_deps, owner_pool, make_tenant, odoo):
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    order, pushed = await pushed_in_dozens_and_grams(
        sync_deps, tenant, connector, "V001", "WH", "SKU-000002", "SKU-000003"
    )
    created = next(o for o in odoo.orders_with_lines() if str(o["id"]) == pushed["external_id"])
    assert created["partner_id"][1] == "Supplier 1" and created["origin"] == f"Chainsight {order['number']}"
    assert created["date_planned"] == date(2026, 3, 2).isoformat() + " 00:00:00"
    lines = sorted(created["lines"], key=lambda x: x["sequence"])
    assert [(x["name"], x["product_qty"], x["price_unit"]) for x in lines] == [
        ("SKU-000002", 24.0, 1.0),  # 2 dozen at 12 -> 24 each at 1
        ("SKU-000003", 0.5, 4.0),  # 500 g at 0.004 -> 0.5 kg at 4
    ]
    # The next sync recognises the order as the one pushed, rather than importing a copy.
    await run_sync(sync_deps, tenant.id, connector)
    assert await order_numbers(owner_pool, tenant.id) == sorted(["P00001", "P00002", "P00003", order["number"]])


async def test_a_pushed_order_keeps_its_currency_and_stock_unit_quantities_in_odoo_and_back(
    sync_deps, owner_pool, make_tenant, odoo
):
    # Until 2026-12-07 a push named neither: Odoo made a yen order a euro one (the company's currency) and took a
    # line bought by the dozen as 10 dozen, and the next sync wrote both back over the Chainsight order.
    sku4 = next(i for i, p in odoo.models["product.product"].items() if p["default_code"] == "SKU-000004")
    odoo.put("product.product", {"uom_po_id": [2, "Dozens"]}, sku4)  # stocked in units, bought by the dozen
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    await run_sync(sync_deps, tenant.id, connector)
    order, pushed = await push_draft(
        sync_deps, tenant, connector, "V002", "WH", [("SKU-000004", 10, None, "1500")], currency="JPY"
    )
    created = next(o for o in odoo.orders_with_lines() if str(o["id"]) == pushed["external_id"])
    assert created["currency_id"] == [4, "JPY"]
    assert [(x["product_qty"], x["product_uom"], x["price_unit"]) for x in created["lines"]] == [
        (10.0, [1, "Units"], 1500.0)
    ]
    await run_sync(sync_deps, tenant.id, connector)
    (mine,) = [o for o in (await snapshot(owner_pool, tenant.id))["orders"] if o[0] == order["number"]]
    assert (mine[3], json.loads(mine[6])) == ("JPY", [[1, "SKU-000004", 10, "each", 1500, 0]])


def pushed_as(odoo: FakeOdoo, order: dict) -> list[dict[str, Any]]:
    """The Odoo orders a push of the Chainsight ``order`` made."""
    return [o for o in odoo.models["purchase.order"].values() if o.get("origin") == f"Chainsight {order['number']}"]


async def test_a_push_whose_price_per_product_unit_four_decimals_cannot_keep_is_refused(
    sync_deps, owner_pool, make_tenant, odoo
):
    # Until 2026-12-07 a box of 1000 at 0.45 went to Odoo as 1000 at 0.0004 each, and the next sync wrote that back
    # over the Chainsight line: the order 11% low.
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    await run_sync(sync_deps, tenant.id, connector)
    await owner_pool.execute(
        """INSERT INTO app.product_uom_conversions (tenant_id, product_id, uom, factor)
           SELECT tenant_id, id, 'box', 1000 FROM app.products WHERE tenant_id = $1 AND sku = 'SKU-000002'""",
        tenant.id,
    )
    order = await draft_order(sync_deps, tenant, "V001", "WH", [("SKU-000002", 1, "box", "0.45")])
    calls = len(odoo.requests)
    with pytest.raises(
        ConflictError, match=r"line 1: SKU-000002 at 0\.45 EUR per box is 0\.00045 EUR per each"
    ) as refused:
        await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])
    claims = await owner_pool.fetchval(
        "SELECT count(*) FROM app.integration_push_claims WHERE tenant_id = $1", tenant.id
    )
    assert (refused.value.code, len(odoo.requests), pushed_as(odoo, order), claims) == (
        "price_too_fine_for_erp",
        calls,
        [],
        0,
    )


async def test_a_push_whose_price_per_product_unit_rounds_within_a_tenth_of_a_percent_goes_through(
    sync_deps, owner_pool, make_tenant, odoo
):
    # 10 dozen at 10.00 is 0.83333... each: 0.8333 loses 0.004%, as an API line's derived price may.
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    await run_sync(sync_deps, tenant.id, connector)
    _, pushed = await push_draft(sync_deps, tenant, connector, "V001", "WH", [("SKU-000002", 10, "dozen", "10.00")])
    created = next(o for o in odoo.orders_with_lines() if str(o["id"]) == pushed["external_id"])
    assert [(x["product_qty"], x["price_unit"]) for x in created["lines"]] == [(120.0, 0.8333)]


async def order_in_boxes_of_50(odoo: FakeOdoo, owner_pool: Any, tenant: Any, connector: Any, *, recorded: bool) -> int:
    """After a first sync: the mapping names Odoo's "Box of 50" as "box", SKU-000002's box of 50 each is recorded
    (or not), and Odoo has an order of 3 boxes of it at 20 per box; returns the Odoo order's id."""
    if recorded:
        await owner_pool.execute(
            """INSERT INTO app.product_uom_conversions (tenant_id, product_id, uom, factor)
               SELECT tenant_id, id, 'box', 50 FROM app.products WHERE tenant_id = $1 AND sku = 'SKU-000002'""",
            tenant.id,
        )
    await owner_pool.execute(
        """UPDATE app.integration_connectors SET mapping = mapping || $2::jsonb WHERE id = $1""",
        connector,
        json.dumps({"units": {"Units": "each", "Box of 50": "box"}}),
    )
    sku2 = next(i for i, p in odoo.models["product.product"].items() if p["default_code"] == "SKU-000002")
    supplier = next(i for i, p in odoo.models["res.partner"].items() if p.get("ref") == "V001")
    order = odoo.put("purchase.order", {"name": "P00900", "partner_id": odoo.name_of("res.partner", supplier),
                                        "currency_id": [1, "EUR"], "date_planned": "2026-02-01 10:00:00",
                                        "state": "purchase", "picking_type_id": [1, "Receipts"]})  # fmt: skip
    odoo.put("purchase.order.line", {"order_id": [order, "P00900"], "sequence": 10,
                                     "product_id": odoo.name_of("product.product", sku2), "product_qty": 3.0,
                                     "product_uom": [41, "Box of 50"], "price_unit": 20.0,
                                     "qty_received": 0.0})  # fmt: skip
    return order


async def test_an_order_line_in_the_products_packaging_unit_syncs_converted_to_its_unit(
    sync_deps, owner_pool, make_tenant, odoo
):
    # Until 2026-12-07 the line's unit had to be a shared one (each, dozen, kg...): "Box of 50" was dead-lettered as
    # having no Chainsight equivalent even once mapping.units named it "box", and the order never came in.
    tenant, _, _ = await synced_order_in_boxes_of_50(sync_deps, owner_pool, make_tenant, odoo)
    lines = await owner_pool.fetchval(
        """SELECT count(*) FROM app.purchase_order_lines l JOIN app.purchase_orders po ON po.id = l.purchase_order_id
           WHERE po.tenant_id = $1 AND po.number = 'P00900' AND l.quantity = 3""",
        tenant.id,
    )
    assert (lines, *await order_line_in_boxes(owner_pool, tenant)) == (
        1,
        *("box", Decimal(50), Decimal(150), Decimal(0), Decimal(20)),
        0,
    )


async def test_an_order_line_in_a_packaging_unit_not_recorded_for_its_product_names_how_to_record_it(
    sync_deps, owner_pool, make_tenant, odoo
):
    # Until 2026-12-07 the dead letter only said to add the unit to mapping.units, which already named it.
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    await run_sync(sync_deps, tenant.id, connector)
    order = await order_in_boxes_of_50(odoo, owner_pool, tenant, connector, recorded=False)
    await run_sync(sync_deps, tenant.id, connector)
    product = await owner_pool.fetchval(
        "SELECT id FROM app.products WHERE tenant_id = $1 AND sku = 'SKU-000002'", tenant.id
    )
    error = await owner_pool.fetchval(
        "SELECT error FROM app.integration_dead_letters WHERE tenant_id = $1 AND external_id = $2",
        tenant.id,
        str(order),
    )
    sku2 = next(i for i, p in odoo.models["product.product"].items() if p["default_code"] == "SKU-000002")
    assert error.startswith(
        f"line 1 ({sku2}, product {product}): unit 'Box of 50' has no "
        "Chainsight equivalent: it maps to 'box', which is neither a shared unit nor a packaging unit of the product: "
        "record it for the product (PUT /products/{id}/uom-conversions/box) or correct mapping.units"
    )


def receive_boxes_in_odoo(odoo: FakeOdoo, order: int, boxes: float) -> None:
    """Odoo reports ``boxes`` received on the order's line (and the order changed, so the next sync reads it)."""
    line = next(i for i, x in odoo.models["purchase.order.line"].items() if x["order_id"][0] == order)
    odoo.put("purchase.order.line", {"qty_received": boxes}, line)
    odoo.put("purchase.order", {"state": "purchase"}, order)


async def order_line_in_boxes(owner_pool: Any, tenant: Any) -> tuple[Any, ...]:
    """P00900's line: (uom, uom_factor, quantity_base, received_base, unit_price), and the open orders dead-lettered."""
    line = await owner_pool.fetchrow(
        """SELECT l.uom, l.uom_factor, l.quantity_base, l.received_base, l.unit_price
           FROM app.purchase_order_lines l JOIN app.purchase_orders po ON po.id = l.purchase_order_id
           WHERE po.tenant_id = $1 AND po.number = 'P00900'""",
        tenant.id,
    )
    letters = await owner_pool.fetchval(
        """SELECT count(*) FROM app.integration_dead_letters
           WHERE tenant_id = $1 AND entity = 'purchase_orders' AND resolved_at IS NULL""",
        tenant.id,
    )
    return (*line, letters)


async def synced_order_in_boxes_of_50(sync_deps, owner_pool, make_tenant, odoo) -> tuple[Any, Any, int]:
    """A tenant whose Odoo order P00900 of 3 boxes of 50 (recorded for SKU-000002) has been synced."""
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    await run_sync(sync_deps, tenant.id, connector)
    order = await order_in_boxes_of_50(odoo, owner_pool, tenant, connector, recorded=True)
    await run_sync(sync_deps, tenant.id, connector)
    return tenant, connector, order


def change_p00002_line(odoo: FakeOdoo, sku: str, values: dict[str, Any]) -> None:
    """Writes ``values`` on the line of the confirmed P00002 (WH2: SKU-000003 5, SKU-000004 6) for ``sku``."""
    order = next(i for i, o in odoo.models["purchase.order"].items() if o["name"] == "P00002")
    product = next(i for i, p in odoo.models["product.product"].items() if p["default_code"] == sku)
    line = next(i for i, x in odoo.models["purchase.order.line"].items()
                if x["order_id"][0] == order and x["product_id"][0] == product)  # fmt: skip
    odoo.put("purchase.order.line", values, line)
    odoo.put("purchase.order", {"state": "purchase"}, order)


async def p00002_after_sync(owner_pool: Any, tenant: Any) -> tuple[Any, ...]:
    """P00002's lines as the snapshot has them, SKU-000003's incoming at WH2, and the orders dead-lettered."""
    state = await snapshot(owner_pool, tenant.id)
    (order,) = [o for o in state["orders"] if o[0] == "P00002"]
    incoming = await owner_pool.fetchval(
        """SELECT app.incoming_quantity($1, p.id, w.id) FROM app.products p, app.warehouses w
           WHERE p.tenant_id = $1 AND p.sku = 'SKU-000003' AND w.tenant_id = $1 AND w.code = 'WH2'""",
        tenant.id,
    )
    return json.loads(order[6]), incoming, [d for d in state["dead_letters"] if d[0] == "purchase_orders"]


async def test_a_line_zeroed_on_a_confirmed_order_leaves_it_and_the_other_lines_go_on_syncing(
    sync_deps, owner_pool, make_tenant, odoo
):
    # Odoo refuses to delete a confirmed order's line, so it is set to 0: until 2026-12-07 the whole order was
    # dead-lettered for its quantity of 0, and its later receipts never came in.
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    await run_sync(sync_deps, tenant.id, connector)
    change_p00002_line(odoo, "SKU-000003", {"product_qty": 0.0})
    change_p00002_line(odoo, "SKU-000004", {"qty_received": 2.0})
    await run_sync(sync_deps, tenant.id, connector)
    assert await p00002_after_sync(owner_pool, tenant) == ([[2, "SKU-000004", 6, "each", 2.5, 2]], 0, [])


async def test_a_line_zeroed_once_partly_received_orders_what_was_received(sync_deps, owner_pool, make_tenant, odoo):
    # Until 2026-12-07 the order was dead-lettered (a quantity of 0).
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    await run_sync(sync_deps, tenant.id, connector)
    change_p00002_line(odoo, "SKU-000003", {"product_qty": 0.0, "qty_received": 2.0})
    await run_sync(sync_deps, tenant.id, connector)
    lines, incoming, letters = await p00002_after_sync(owner_pool, tenant)
    assert (lines[0], incoming, letters) == ([1, "SKU-000003", 2, "kg", 2.5, 2], 0, [])


async def test_a_discounted_line_syncs_at_its_price_after_the_discount(sync_deps, owner_pool, make_tenant, odoo):
    # Until 2026-12-07 the sync read price_unit alone, the price before the line's discount (%): 100 rather than 90.
    change_p00002_line(odoo, "SKU-000004", {"product_qty": 10.0, "price_unit": 100.0, "discount": 10.0})
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    await run_sync(sync_deps, tenant.id, connector)
    lines, _, _ = await p00002_after_sync(owner_pool, tenant)
    assert lines == [[1, "SKU-000003", 5, "kg", 2.5, 0], [2, "SKU-000004", 10, "each", 90, 0]]


async def test_a_backorder_closed_here_stays_closed_when_odoo_reports_its_order_again(
    sync_deps, owner_pool, make_tenant, odoo
):
    # Odoo reports no closures: its lines' 0 cancelled is no word on them, so what Chainsight closed stands.
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    await run_sync(sync_deps, tenant.id, connector)
    closed = """UPDATE app.purchase_order_lines l SET cancelled_base = l.quantity_base - 1
                FROM app.purchase_orders po WHERE po.id = l.purchase_order_id AND po.tenant_id = $1
                  AND po.number = 'P00002'"""
    await owner_pool.execute(closed, tenant.id)
    order = next(i for i, o in odoo.models["purchase.order"].items() if o["name"] == "P00002")
    receive_boxes_in_odoo(odoo, order, 1)  # the first line's receipt of 1
    await run_sync(sync_deps, tenant.id, connector)
    lines = await owner_pool.fetch(
        """SELECT l.received_base, l.cancelled_base FROM app.purchase_order_lines l
           JOIN app.purchase_orders po ON po.id = l.purchase_order_id
           WHERE po.tenant_id = $1 AND po.number = 'P00002' ORDER BY l.line_no""",
        tenant.id,
    )
    assert [tuple(r) for r in lines] == [(1, 4), (0, 5)]


async def test_an_order_line_keeps_the_box_factor_it_was_written_with_once_the_box_changes(
    sync_deps, owner_pool, make_tenant, odoo
):
    # Until 2026-12-07 each sync converted the line by today's factor: once the box became 40, the receipt of 2
    # boxes rewrote the order of 3 boxes of 50 as 120 ordered and 80 received, 0.50 rather than 0.40 per unit.
    tenant, connector, order = await synced_order_in_boxes_of_50(sync_deps, owner_pool, make_tenant, odoo)
    await owner_pool.execute(
        """UPDATE app.product_uom_conversions SET factor = 40
           WHERE tenant_id = $1 AND uom = 'box'
             AND product_id = (SELECT id FROM app.products WHERE tenant_id = $1 AND sku = 'SKU-000002')""",
        tenant.id,
    )
    receive_boxes_in_odoo(odoo, order, 2.0)
    await run_sync(sync_deps, tenant.id, connector)
    assert await order_line_in_boxes(owner_pool, tenant) == ("box", Decimal(50), Decimal(150), Decimal(100), 20, 0)


async def test_an_order_line_in_a_box_no_longer_recorded_for_its_product_still_takes_its_receipts(
    sync_deps, owner_pool, make_tenant, odoo
):
    # Until 2026-12-07 the order's next change after the box conversion was deleted (here its receipt) was
    # dead-lettered as a unit with no Chainsight equivalent, and never came in.
    tenant, connector, order = await synced_order_in_boxes_of_50(sync_deps, owner_pool, make_tenant, odoo)
    await owner_pool.execute("DELETE FROM app.product_uom_conversions WHERE tenant_id = $1 AND uom = 'box'", tenant.id)
    receive_boxes_in_odoo(odoo, order, 3.0)
    await run_sync(sync_deps, tenant.id, connector)
    assert await order_line_in_boxes(owner_pool, tenant) == ("box", Decimal(50), Decimal(150), Decimal(150), 20, 0)


async def test_a_line_received_in_two_syncs_keeps_the_first_syncs_time_as_the_orders_first_receipt(
    sync_deps, owner_pool, make_tenant, odoo, database
):
    # Until 2026-12-07 the lead time read the line's last stamp: 1 box of 3, then the rest, counted from the second.
    tenant, connector, order = await synced_order_in_boxes_of_50(sync_deps, owner_pool, make_tenant, odoo)
    stamp = """SELECT po.supplier_id, l.erp_received_at FROM app.purchase_order_lines l
               JOIN app.purchase_orders po ON po.id = l.purchase_order_id
               WHERE po.tenant_id = $1 AND po.number = 'P00900'"""
    receive_boxes_in_odoo(odoo, order, 1.0)
    await run_sync(sync_deps, tenant.id, connector)
    supplier, first_sync = await owner_pool.fetchrow(stamp, tenant.id)
    receive_boxes_in_odoo(odoo, order, 3.0)
    await run_sync(sync_deps, tenant.id, connector)
    _, last_sync = await owner_pool.fetchrow(stamp, tenant.id)
    history = await as_planner(database, tenant, lambda c: supplier_history(c, supplier))
    assert last_sync > first_sync  # the delivery history's date is still the completing sync's
    assert history.received["first_received_at"].tolist() == [first_sync]


async def test_a_push_for_a_warehouse_not_synced_from_odoo_is_refused(sync_deps, owner_pool, make_tenant, odoo):
    # Until 2026-12-07 Odoo received it in its first warehouse, and the next sync moved the Chainsight order there.
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    await run_sync(sync_deps, tenant.id, connector)
    await owner_pool.execute("INSERT INTO app.warehouses (tenant_id, code, name) VALUES ($1, 'LA', 'LA')", tenant.id)
    order = await draft_order(sync_deps, tenant, "V001", "LA", [("SKU-000002", 10, None, "2")])
    with pytest.raises(InvalidInputError, match="warehouse LA was not synced from erp") as refused:
        await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])
    assert (refused.value.code, pushed_as(odoo, order)) == ("warehouse_not_in_erp", [])


async def test_a_push_for_the_default_warehouse_not_synced_from_odoo_is_refused_before_the_claim(
    sync_deps, owner_pool, make_tenant, odoo
):
    # Until 2026-12-07 the mapping's default_warehouse went without one, as Business Central and NetSuite take it:
    # the push claimed the order, and Odoo's push refused it as a connector error (a 503), not the order's 400.
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    await run_sync(sync_deps, tenant.id, connector)
    await owner_pool.execute("INSERT INTO app.warehouses (tenant_id, code, name) VALUES ($1, 'LA', 'LA')", tenant.id)
    await owner_pool.execute(
        """UPDATE app.integration_connectors SET mapping = mapping || '{"default_warehouse": "LA"}' WHERE id = $1""",
        connector,
    )
    order = await draft_order(sync_deps, tenant, "V001", "LA", [("SKU-000002", 10, None, "2")])
    calls = len(odoo.requests)
    with pytest.raises(InvalidInputError, match="warehouse LA was not synced from erp") as refused:
        await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])
    claims = await owner_pool.fetchval(
        "SELECT count(*) FROM app.integration_push_claims WHERE tenant_id = $1", tenant.id
    )
    assert (refused.value.code, len(odoo.requests), claims) == ("warehouse_not_in_erp", calls, 0)


async def test_a_push_for_an_odoo_warehouse_without_a_receipt_type_is_refused(sync_deps, owner_pool, make_tenant, odoo):
    # Until 2026-12-07 the order went without picking_type_id and Odoo received it in its first warehouse.
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    await run_sync(sync_deps, tenant.id, connector)
    with odoo.lock:
        del odoo.models["stock.picking.type"][2]  # WH2's receipts
    order = await draft_order(sync_deps, tenant, "V001", "WH2", [("SKU-000002", 10, None, "2")])
    with pytest.raises(ConnectorProtocolError, match=r"no receipt type \(incoming\) for warehouse WH2"):
        await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])
    assert pushed_as(odoo, order) == []


async def test_a_push_whose_answer_was_lost_is_pushed_again_without_a_second_order(
    sync_deps, owner_pool, make_tenant, odoo
):
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    await run_sync(sync_deps, tenant.id, connector)
    order = await draft_order(sync_deps, tenant, "V001", "WH", [("SKU-000002", 3, None, "2")])
    odoo.lose_answer_to(lambda request: b'"create"' in request.body)  # Odoo creates it; the answer never comes
    with pytest.raises(Exception, match="connection"):
        await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])
    await lapse_push_claim(owner_pool, order)  # the push kept it: the ERP may have made the order
    pushed = await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])
    mine = [o for o in odoo.models["purchase.order"].values() if o.get("origin") == f"Chainsight {order['number']}"]
    assert [str(o["id"]) for o in mine] == [pushed["external_id"]]


async def test_a_sync_before_the_retry_of_a_lost_push_links_the_order_instead_of_importing_a_copy(
    sync_deps, owner_pool, make_tenant, odoo
):
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    await run_sync(sync_deps, tenant.id, connector)
    # In the second warehouse: the order names its receipt type, or Odoo would receive it in the first.
    order = await draft_order(sync_deps, tenant, "V001", "WH2", [("SKU-000002", 3, None, "2")])
    odoo.lose_answer_to(lambda request: b'"create"' in request.body)
    run, linked = await sync_after_lost_push(sync_deps, owner_pool, tenant, connector, order)
    (made,) = [o for o in odoo.models["purchase.order"].values() if o.get("origin") == f"Chainsight {order['number']}"]
    assert (run["counts"]["purchase_orders"]["created"], linked) == (0, str(made["id"]))
    warehouse = await owner_pool.fetchval(
        "SELECT w.code FROM app.purchase_orders po JOIN app.warehouses w ON w.id = po.warehouse_id WHERE po.id = $1",
        order["id"],
    )
    assert (made["picking_type_id"][0], warehouse) == (2, "WH2")
    with pytest.raises(ConflictError, match=f"already in erp as '{made['id']}'"):
        await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])


JSON2 = {"database": "prod", "protocol": "json2"}


async def test_the_json2_api_syncs_and_pushes_the_same_as_json_rpc(sync_deps, owner_pool, make_tenant, odoo19):
    # On Odoo 19, where JSON-2 is: until 2026-12-07 every order sync and push failed there, reading and writing the
    # line's unit as product_uom, which 19 names product_uom_id ("Invalid field").
    rpc, rpc_connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo19)
    await run_sync(sync_deps, rpc.id, rpc_connector)
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo19, options=JSON2)
    odoo19.requests.clear()
    await completed_run(sync_deps, tenant, connector)
    assert (
        odoo19.count("POST", "/jsonrpc") == 0 and odoo19.count("POST", "/json/2/product.product/search_read") == 3
    )  # window + 2 pages
    assert await snapshot(owner_pool, tenant.id) == await snapshot(owner_pool, rpc.id)

    _, pushed = await push_draft(sync_deps, tenant, connector, "V001", "WH", [("SKU-000002", 3, None, "2")])
    created = next(o for o in odoo19.orders_with_lines() if str(o["id"]) == pushed["external_id"])
    assert [(x["name"], x["product_qty"], x["product_uom_id"], x["price_unit"]) for x in created["lines"]] == [
        ("SKU-000002", 3.0, [1, "Units"], 2.0)
    ]


async def test_a_wrong_json2_api_key_fails_the_run_with_odoos_error(sync_deps, owner_pool, make_tenant, odoo19):
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo19, api_key="wrong", options=JSON2)
    assert await failed_run(sync_deps, tenant, connector) == "Odoo refused the API key (HTTP 401): Invalid apikey"


async def test_a_box_line_shifted_by_a_line_added_above_it_keeps_its_factor(sync_deps, owner_pool, make_tenant, odoo):
    # Odoo numbers lines by position: with the stored factor matched by number alone, the box line, now line 2, was
    # converted again by today's box of 40 (150 ordered restated as 120).
    tenant, connector, order = await synced_order_in_boxes_of_50(sync_deps, owner_pool, make_tenant, odoo)
    await owner_pool.execute(
        """UPDATE app.product_uom_conversions SET factor = 40
           WHERE tenant_id = $1 AND uom = 'box'
             AND product_id = (SELECT id FROM app.products WHERE tenant_id = $1 AND sku = 'SKU-000002')""",
        tenant.id,
    )
    sku3 = next(i for i, p in odoo.models["product.product"].items() if p["default_code"] == "SKU-000003")
    odoo.put("purchase.order.line", {"order_id": [order, "P00900"], "sequence": 5,
                                     "product_id": odoo.name_of("product.product", sku3), "product_qty": 1.0,
                                     "product_uom": [12, "kg"], "price_unit": 1.0, "qty_received": 0.0})  # fmt: skip
    odoo.put("purchase.order", {"state": "purchase"}, order)
    await run_sync(sync_deps, tenant.id, connector)
    box = await owner_pool.fetchrow(
        """SELECT l.line_no, l.uom_factor, l.quantity_base FROM app.purchase_order_lines l
           JOIN app.purchase_orders po ON po.id = l.purchase_order_id
           WHERE po.tenant_id = $1 AND po.number = 'P00900' AND l.uom = 'box'""",
        tenant.id,
    )
    assert tuple(box) == (2, Decimal(50), Decimal(150))
