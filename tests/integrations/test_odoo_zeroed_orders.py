"""An Odoo order whose every goods line is set to 0 with nothing received (Odoo refuses to delete a confirmed
order's lines, so a buyer may zero them all rather than cancel): nothing is ordered any more, so it reads as
cancelled, as a cancellation here would; until 2026-12-07 it was dead-lettered for having no line left."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from integrations.sync import run_sync
from inventory import events
from tests.integrations.conftest import bare_tenant, dead_letters, odoo_connector, snapshot, tap
from tests.support.fakes.odoo import FakeOdoo, populate


@pytest.fixture
def odoo() -> Iterator[FakeOdoo]:
    with FakeOdoo() as fake:
        populate(fake)
        yield fake


def set_lines(odoo: FakeOdoo, number: str, values: dict[str, Any]) -> None:
    """Writes ``values`` on every line of Odoo's order ``number`` (and so its write date, as Odoo does)."""
    order = next(i for i, o in odoo.models["purchase.order"].items() if o["name"] == number)
    for line_id, line in list(odoo.models["purchase.order.line"].items()):
        if line["order_id"][0] == order:
            odoo.put("purchase.order.line", values, line_id)
    odoo.put("purchase.order", {}, order)


async def synced(sync_deps, owner_pool, make_tenant, odoo) -> tuple[Any, Any]:
    tenant = await bare_tenant(owner_pool, make_tenant)
    connector = await odoo_connector(sync_deps, tenant, odoo.url)
    await run_sync(sync_deps, tenant.id, connector)
    return tenant, connector


async def order_state(owner_pool, tenant) -> tuple[Any, ...]:
    """P00002 (confirmed: SKU-000003 5 kg, SKU-000004 6 each, at WH2) as stored, and SKU-000003's incoming there."""
    (order,) = [o for o in (await snapshot(owner_pool, tenant.id))["orders"] if o[0] == "P00002"]
    incoming = await owner_pool.fetchval(
        """SELECT app.incoming_quantity($1, p.id, w.id) FROM app.products p, app.warehouses w
           WHERE p.tenant_id = $1 AND p.sku = 'SKU-000003' AND w.tenant_id = $1 AND w.code = 'WH2'""",
        tenant.id,
    )
    return order[4], json.loads(order[6]), incoming


async def test_an_order_whose_every_line_is_zeroed_is_cancelled_with_its_lines_and_announces_it(
    sync_deps, owner_pool, make_tenant, odoo
):
    tenant, connector = await synced(sync_deps, owner_pool, make_tenant, odoo)
    set_lines(odoo, "P00002", {"product_qty": 0.0})
    async with tap(owner_pool, tenant.id) as published:
        run = await run_sync(sync_deps, tenant.id, connector)
    assert await order_state(owner_pool, tenant) == (
        "cancelled",
        [[1, "SKU-000003", 5, "kg", 2.5, 0], [2, "SKU-000004", 6, "each", 2.5, 0]],
        0,
    )
    assert (run["counts"]["purchase_orders"]["updated"], run["counts"]["purchase_orders"]["dead_lettered"]) == (1, 0)
    assert await dead_letters(owner_pool, tenant.id, "purchase_orders") == []
    changes = [e["data"] for e in published if e["type"] == events.PURCHASE_ORDER_STATUS]
    assert [(c["number"], c["from"], c["to"], c["source"]) for c in changes] == [
        ("P00002", "issued", "cancelled", "erp:erp")
    ]
    rerun = await run_sync(sync_deps, tenant.id, connector)
    assert rerun["counts"]["purchase_orders"]["updated"] == 0


async def test_an_order_first_seen_with_every_line_zeroed_is_not_imported_nor_dead_lettered(
    sync_deps, owner_pool, make_tenant, odoo
):
    set_lines(odoo, "P00002", {"product_qty": 0.0})
    tenant, _ = await synced(sync_deps, owner_pool, make_tenant, odoo)
    orders = [o[0] for o in (await snapshot(owner_pool, tenant.id))["orders"]]
    assert "P00002" not in orders and "P00001" in orders
    assert await dead_letters(owner_pool, tenant.id, "purchase_orders") == []


async def test_a_draft_whose_lines_are_zeroed_while_it_is_edited_stays_a_draft_and_takes_them_back(
    sync_deps, owner_pool, make_tenant, odoo
):
    # A buyer retyping an RFQ's quantities zeroes them for a moment; until 2026-12-07 (since f44d0ef) the draft was
    # cancelled for good and the confirmed order then dead-lettered as "cannot become issued".
    tenant, connector = await synced(sync_deps, owner_pool, make_tenant, odoo)
    before = [o for o in (await snapshot(owner_pool, tenant.id))["orders"] if o[0] == "P00001"]
    set_lines(odoo, "P00001", {"product_qty": 0.0})
    async with tap(owner_pool, tenant.id) as published:
        await run_sync(sync_deps, tenant.id, connector)
    assert [o for o in (await snapshot(owner_pool, tenant.id))["orders"] if o[0] == "P00001"] == before
    assert [e for e in published if e["type"] == events.PURCHASE_ORDER_STATUS] == []
    # Said, not silent: its old quantities still count as incoming while the ERP's draft has none.
    (letter,) = await dead_letters(owner_pool, tenant.id, "purchase_orders")
    assert "has no line with a quantity; its lines here are kept" in str(letter)
    set_lines(odoo, "P00001", {"product_qty": 7.0})
    await run_sync(sync_deps, tenant.id, connector)
    (after,) = [o for o in (await snapshot(owner_pool, tenant.id))["orders"] if o[0] == "P00001"]
    assert after[4] == "draft" and {line[2] for line in json.loads(after[6])} == {7}
    assert await owner_pool.fetchval(
        "SELECT count(*) FROM app.integration_dead_letters WHERE tenant_id = $1 AND entity = 'purchase_orders' "
        "AND resolved_at IS NULL",
        tenant.id,
    ) == 0  # fmt: skip
