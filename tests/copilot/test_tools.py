from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from copilot import suggestions
from copilot.tools import TOOLS, Tool, ToolResult, register_tool, run_tools
from tests.copilot.conftest import as_user


async def issue(owner_pool, tenant, quantity: int, days_ago: int) -> None:
    await owner_pool.execute(
        "INSERT INTO app.stock_movements (tenant_id, product_id, warehouse_id, movement_type, quantity, occurred_at) "
        "VALUES ($1, $2, $3, 'issue', $4, $5)",
        tenant.id,
        tenant.products[0],
        tenant.warehouses[0],
        -quantity,
        datetime.now(UTC) - timedelta(days=days_ago) + timedelta(hours=1),
    )


async def test_a_stock_question_naming_a_product_gets_its_levels_from_the_ledger(database, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(42)})
    results = await as_user(database, tenant)(lambda tx: run_tools(tx.conn, "How much Product 0 do we have?"))
    (levels,) = [r for r in results if r.name == "stock_levels"]
    assert levels.arguments == {"products": ["SKU-0"]}
    assert levels.lines == ["SKU-0 (Product 0) at WH-0: on hand 42, reserved 0, available 42 each"]


async def test_a_question_without_live_data_keywords_runs_no_tool(database, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(1)})
    results = await as_user(database, tenant)(lambda tx: run_tools(tx.conn, "What does the contract say?"))
    assert results == []


async def test_tools_never_see_another_tenants_products(database, make_tenant):
    mine = await make_tenant(stock={0: Decimal(5)})
    await make_tenant(stock={1: Decimal(999)})
    results = await as_user(database, mine)(lambda tx: run_tools(tx.conn, "stock of Product 1"))
    (levels,) = [r for r in results if r.name == "stock_levels"]
    assert all("999" not in line for line in levels.lines)


async def test_reservation_questions_list_active_reservations(database, make_tenant, owner_pool):
    tenant = await make_tenant(stock={0: Decimal(10)})
    await owner_pool.execute(
        "INSERT INTO app.reservations (tenant_id, product_id, warehouse_id, quantity, reference) "
        "VALUES ($1, $2, $3, 4, 'SO-7')",
        tenant.id,
        tenant.products[0],
        tenant.warehouses[0],
    )
    results = await as_user(database, tenant)(lambda tx: run_tools(tx.conn, "Which reservations are open?"))
    (reserved,) = [r for r in results if r.name == "active_reservations"]
    assert reserved.lines[0].endswith(": 4 of SKU-0 (SO-7)")


async def test_low_cover_against_recent_demand_is_suggested_for_reorder_with_its_reason(
    database, make_tenant, owner_pool
):
    tenant = await make_tenant(stock={0: Decimal(100)})
    for day in range(1, 29):
        await issue(owner_pool, tenant, 3, day)  # 84 issued over 28 days: 3/day, 16 left = 5.3 days of cover
    found = await as_user(database, tenant)(lambda tx: suggestions.suggest(tx.conn))
    (reorder,) = found
    assert reorder.action == "reorder" and reorder.product_id == str(tenant.products[0])
    assert reorder.reason.startswith("available 16 covers 5.3 days of demand (average 3.00/day")
    assert reorder.quantity == "68"


async def test_stock_with_enough_cover_is_not_suggested(database, make_tenant, owner_pool):
    tenant = await make_tenant(stock={0: Decimal(1000)})
    await issue(owner_pool, tenant, 3, 2)
    assert await as_user(database, tenant)(lambda tx: suggestions.suggest(tx.conn)) == []


async def test_a_registered_tool_is_called_for_its_keywords(database, make_tenant):
    async def forecast(context) -> ToolResult:
        return ToolResult("demand_forecast", {}, ["SKU-0: 12 units next week"])

    register_tool(Tool("demand_forecast", "Forecast demand", ("forecast",), forecast))
    try:
        tenant = await make_tenant()
        results = await as_user(database, tenant)(lambda tx: run_tools(tx.conn, "What is the forecast?"))
        assert [r.name for r in results] == ["demand_forecast"]
    finally:
        del TOOLS["demand_forecast"]
