"""Demand-based reorder suggestions round their quantity as reorder proposals do (``inventory.order_rounding``).

Until 2026-12-08 they rounded on their own: a need of 2.1 dozen read 3 (a proposal: 2.25), 1.2345 thousand read 2
(1.235), 12.37 boxes, a count unit outside the shared catalogue, read 12.4 (13), and a rule's order multiple was
not looked at."""

from __future__ import annotations

from decimal import Decimal

import pytest

from copilot import suggestions
from tests.copilot.conftest import as_user
from tests.copilot.live_rows import add_supplier
from tests.copilot.test_suggestions import issued_yesterday, of, recent_demand_reorders
from tests.support.rows import insert


@pytest.mark.parametrize(
    ("unit", "need", "quantity"),
    [("dozen", "2.1", "2.25"), ("thousand", "1.2345", "1.235"), ("box", "12.37", "13"), ("each", "9.3", "10")],
)
async def test_a_count_units_need_is_rounded_up_to_the_whole_items_a_proposal_orders(
    database, make_tenant, owner_pool, unit, need, quantity
):
    (reorder,) = await recent_demand_reorders(database, make_tenant, owner_pool, Decimal(need), unit=unit)
    assert reorder.quantity == quantity
    assert reorder.title.startswith(f"Reorder about {quantity} x SKU-0")


@pytest.mark.parametrize(("unit", "quantity"), [("each", "12"), ("kg", "12")])
async def test_a_need_is_rounded_up_to_the_order_multiple_of_the_locations_active_rule(
    database, make_tenant, owner_pool, unit, quantity
):
    # A rule ordering in cases of 6 whose minimum (0) is not undercut: demand suggests the reorder, in its cases.
    tenant = await make_tenant(stock={0: Decimal("7.5")}, units={0: unit})
    async with owner_pool.acquire() as conn:
        await issued_yesterday(conn, tenant, Decimal("7.5"))
        supplier = await add_supplier(conn, tenant, "ACME", "Acme")
        await insert(
            conn, "reorder_rules", tenant_id=tenant.id, product_id=tenant.products[0],
            warehouse_id=tenant.warehouses[0], supplier_id=supplier, min_quantity=0, max_quantity=20, order_multiple=6,
        )  # fmt: skip
    found = await as_user(database, tenant)(lambda tx: suggestions.suggest(tx))
    (reorder,) = of(found, "reorder")
    assert (reorder.source, reorder.quantity) == ("recent_demand", quantity)
