"""Which suggestions come first (the sources taking turns, each its most urgent first), the copilot saying there
are more, and which kinds it lists for the question asked."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from copilot import suggestions
from copilot.tool_base import MAX_ROWS, MORE_ROWS
from copilot.tools import run_tools
from tests.copilot.conftest import as_user
from tests.copilot.live_rows import add_order, add_products_below_their_minimum, add_risky_supplier, add_supplier
from tests.copilot.test_suggestions import expedites
from tests.support.rows import insert


async def late_order_among_25_reorders(database, make_tenant, owner_pool, today):
    """A tenant with 25 products below their reorder minimum (from supplier AA-1) and an order from ZZ-LATE 30 days
    late; returns the tenant and the order's number."""
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        late = await add_supplier(conn, tenant, "ZZ-LATE", "Zeta Late Supplier")
        _, number = await add_order(conn, tenant, late, today - timedelta(days=30), [(0, 10, 1)])
        await add_products_below_their_minimum(conn, tenant, await add_supplier(conn, tenant, "AA-1", "Alpha"), 25)
    return tenant, number


async def test_an_overdue_order_is_suggested_first_beside_more_reorders_than_the_limit(
    database, make_tenant, owner_pool, today
):
    # Before, the sources were joined end to end: 25 reorder rules filled the first 20 and the expedite was lost.
    tenant, number = await late_order_among_25_reorders(database, make_tenant, owner_pool, today)
    found = await as_user(database, tenant)(lambda tx: suggestions.suggest(tx, limit=20))
    assert len(found) == 20
    assert found[0].title == f"Expedite {number} from ZZ-LATE to WH-0"
    assert [s.action for s in found[1:]] == ["reorder"] * 19


async def test_the_rule_furthest_below_its_minimum_is_suggested_first(database, make_tenant, owner_pool):
    # Before, rules came by supplier code: AAA's 4 of 5 before ZZZ's 0 of 5.
    tenant = await make_tenant(stock={0: Decimal(4)})
    async with owner_pool.acquire() as conn:
        for product, code in ((0, "AAA"), (1, "ZZZ")):
            await insert(
                conn, "reorder_rules", tenant_id=tenant.id, product_id=tenant.products[product],
                warehouse_id=tenant.warehouses[0], supplier_id=await add_supplier(conn, tenant, code, code),
                min_quantity=5, max_quantity=10,
            )  # fmt: skip
    found = await as_user(database, tenant)(lambda tx: suggestions.suggest(tx))
    assert [s.title for s in found] == ["Reorder 10 x SKU-1 for WH-0 from ZZZ", "Reorder 6 x SKU-0 for WH-0 from AAA"]


async def test_the_copilot_says_there_are_more_suggestions_than_it_lists(database, make_tenant, owner_pool, today):
    # Before, ten lines with nothing after them read as "there are ten".
    tenant, number = await late_order_among_25_reorders(database, make_tenant, owner_pool, today)
    results = await as_user(database, tenant)(lambda tx: run_tools(tx, "What should I do?", {"action_suggestions"}))
    (found,) = results
    assert len(found.lines) == MAX_ROWS + 1 and found.lines[-1] == MORE_ROWS
    assert found.lines[0].startswith(f"Expedite {number} from ZZ-LATE to WH-0: ")


async def test_asked_what_to_expedite_the_copilot_lists_the_expedites_only(database, make_tenant, owner_pool, today):
    tenant, number = await late_order_among_25_reorders(database, make_tenant, owner_pool, today)
    ask = "What should I expedite?"
    (found,) = await as_user(database, tenant)(lambda tx: run_tools(tx, ask, {"action_suggestions"}))
    late = f"expected {today - timedelta(days=30)}, now 30 days late"
    assert found.lines == [f"Expedite {number} from ZZ-LATE to WH-0: {late}"]
    assert found.arguments == {"limit": MAX_ROWS, "actions": ["expedite"]}


async def test_asked_about_products_that_will_run_out_the_copilot_lists_the_expedites_too(
    database, make_tenant, owner_pool, today
):
    # Before, "run out" asked for reorders only: "no reorder suggestions now", though the order lands 7 days late.
    tenant, [(_, number)], _ = await expedites(
        database, make_tenant, owner_pool, today, 30, [(10, 50)], forecast=[10.0] * 14
    )
    ask = "What should I do about products that will run out?"
    (found,) = await as_user(database, tenant)(lambda tx: run_tools(tx, ask, {"action_suggestions"}))
    assert found.lines[0].startswith(f"Expedite {number} from ACME to WH-0: expected {today + timedelta(days=10)}; ")
    assert found.arguments == {"limit": MAX_ROWS, "actions": ["expedite", "reorder"]}


async def test_asked_to_review_the_suggestions_the_copilot_lists_every_kind(database, make_tenant, owner_pool, today):
    # Before, any "review" asked for supplier reviews only.
    tenant = await make_tenant(stock={0: Decimal(1000)})
    async with owner_pool.acquire() as conn:
        risky = await add_risky_supplier(conn, tenant, "RISKY", "Risky Supply", today)
        _, number = await add_order(conn, tenant, risky, today - timedelta(days=2), [(0, 10, 1)])
        await add_products_below_their_minimum(conn, tenant, risky, 1)
    ask = "Can you review the suggested actions?"
    (found,) = await as_user(database, tenant)(lambda tx: run_tools(tx, ask, {"action_suggestions"}))
    assert [line.split(":", 1)[0] for line in found.lines] == [
        f"Expedite {number} from RISKY to WH-0",
        "Reorder 10 x R-001 for WH-0 from RISKY",
        "Review supplier RISKY (Risky Supply)",
    ]
    assert found.arguments == {"limit": MAX_ROWS}


async def test_asked_which_suppliers_to_review_the_copilot_lists_the_supplier_reviews_only(
    database, make_tenant, owner_pool, today
):
    tenant = await make_tenant(stock={0: Decimal(1000)})
    async with owner_pool.acquire() as conn:
        risky = await add_risky_supplier(conn, tenant, "RISKY", "Risky Supply", today)
        await add_order(conn, tenant, risky, today - timedelta(days=2), [(0, 10, 1)])
    ask = "Which suppliers should I review?"
    (found,) = await as_user(database, tenant)(lambda tx: run_tools(tx, ask, {"action_suggestions"}))
    assert [line.split(" ", 1)[0] for line in found.lines] == ["Review"]
    assert found.arguments == {"limit": MAX_ROWS, "actions": ["review_supplier"]}
