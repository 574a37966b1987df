"""/ai/forecast planning through Serve: seasonal analysis, supply (lead-time) prediction and inventory policy."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tests.deployments.forecast_rows import first_series, post_daily_issues

BASE = "/api/v1/ai/forecast"


async def test_seasonal_analysis_finds_the_weekly_cycle_of_daily_demand(http, planner_tenant):
    t = planner_tenant
    response = await http.get(f"{BASE}/seasonality", params=first_series(t, freq="D"), headers=t.headers())
    body = response.json()
    assert response.status_code == 200, body
    assert body["detected_periods"] == [7]
    assert body["seasonal_strength"] > 0.6
    assert len(body["components"]["trend"]) == body["observations"] == 200


async def test_seasonal_analysis_without_any_movement_is_404(http, planner_tenant):
    t = planner_tenant
    response = await http.get(
        f"{BASE}/seasonality",
        params={"product_id": str(t.products[1]), "warehouse_id": str(t.warehouses[1])},
        headers=t.headers(),
    )
    assert (response.status_code, response.json()["code"]) == (404, "no_history")


async def make_supplier_with_orders(owner_pool, tenant, lead_times_days, nominal=10):
    async with owner_pool.acquire() as conn:
        supplier = await conn.fetchval(
            "INSERT INTO app.suppliers (tenant_id, code, name, lead_time_days) VALUES ($1, $2, 'S', $3) RETURNING id",
            tenant.id,
            f"S{uuid.uuid4().hex[:6]}",
            nominal,
        )
    await add_received_orders(owner_pool, tenant, supplier, lead_times_days, nominal)
    return supplier


async def add_received_orders(owner_pool, tenant, supplier, lead_times_days, promised_days, warehouse=0, every=5):
    """Orders issued from 200 days ago, one each ``every`` days, to the tenant's ``warehouse``-th warehouse, each
    received after its lead time."""
    issued = datetime.now(UTC) - timedelta(days=200)
    async with owner_pool.acquire() as conn:
        for i, days in enumerate(lead_times_days):
            at = issued + timedelta(days=every * i)
            po = await conn.fetchval(
                "INSERT INTO app.purchase_orders (tenant_id, supplier_id, warehouse_id, currency, expected_date, "
                "issued_at) VALUES ($1, $2, $3, 'EUR', $4, $5) RETURNING id",
                tenant.id,
                supplier,
                tenant.warehouses[warehouse],
                (at + timedelta(days=promised_days)).date(),
                at,
            )
            await conn.execute("UPDATE app.purchase_orders SET status = 'issued' WHERE id = $1", po)
            await conn.execute(
                "INSERT INTO app.purchase_receipts (tenant_id, purchase_order_id, received_at) VALUES ($1, $2, $3)",
                tenant.id,
                po,
                at + timedelta(days=days),
            )


async def add_open_orders(owner_pool, tenant, supplier, issued_days_ago, due_after_days):
    """Issued orders of ``supplier`` to the first warehouse, none received."""
    now = datetime.now(UTC)
    async with owner_pool.acquire() as conn:
        for days_ago in issued_days_ago:
            at = now - timedelta(days=days_ago)
            await conn.execute(
                "INSERT INTO app.purchase_orders (tenant_id, supplier_id, warehouse_id, currency, status, "
                "expected_date, issued_at) VALUES ($1, $2, $3, 'EUR', 'issued', $4, $5)",
                tenant.id, supplier, tenant.warehouses[0], (at + timedelta(days=due_after_days)).date(), at,
            )  # fmt: skip


async def overdue_supplier(owner_pool, tenant):
    """10 orders received on time after 5 days; 20 issued 110 to 129 days ago, due 20 days after, not received."""
    supplier = await make_supplier_with_orders(owner_pool, tenant, [5] * 10)
    await add_open_orders(owner_pool, tenant, supplier, range(110, 130), 20)
    return supplier


async def test_supply_prediction_counts_overdue_open_orders_as_late_and_still_out(http, make_tenant, owner_pool):
    # Before, it read on-time 0.917 and every lead-time quantile 5 days while listing the 20 as already late.
    t = await make_tenant()
    supplier = await overdue_supplier(owner_pool, t)
    body = (await http.get(f"{BASE}/supply", params={"supplier_id": str(supplier)}, headers=t.headers())).json()
    lead = body["lead_time"]
    assert sum(order["already_late"] for order in body["open_orders"]) == lead["late_open_orders"] == 20
    assert lead["on_time_probability"] == pytest.approx(11 / 32)
    assert lead["quantiles_days"]["p10"] == pytest.approx(5.0)
    assert lead["quantiles_days"]["p90"] > 110 and lead["mean_days"] > 80


async def test_inventory_policy_plans_on_the_lead_time_of_the_orders_still_out(http, planner_tenant, owner_pool):
    # Before, the route gave the estimate no open orders: the policy planned on 5 days.
    t = planner_tenant
    supplier = await overdue_supplier(owner_pool, t)
    payload = first_series(t, supplier_id=str(supplier), service_level=0.95)
    response = await http.post(f"{BASE}/inventory-policy", json=payload, headers=t.headers())
    body = response.json()
    assert response.status_code == 200, body
    assert body["policy"]["lead_time_periods"] > 80


async def test_supply_prediction_reports_the_lead_time_distribution_and_on_time_odds(http, make_tenant, owner_pool):
    t = await make_tenant()
    supplier = await make_supplier_with_orders(owner_pool, t, [8, 9, 10, 11, 12, 9, 10, 14, 10, 9, 11, 10])
    body = (await http.get(f"{BASE}/supply", params={"supplier_id": str(supplier)}, headers=t.headers())).json()
    lead = body["lead_time"]
    assert lead["receipts"] == 12 and lead["basis"] == "history"
    assert lead["mean_days"] == pytest.approx(10.25, abs=0.01)
    assert 0.6 < lead["on_time_probability"] < 0.95  # 10 of 12 on time, Laplace: 11/14
    assert lead["quantiles_days"]["p10"] <= lead["quantiles_days"]["p90"]


async def test_supplier_without_receipts_degrades_to_its_nominal_lead_time(http, make_tenant, owner_pool):
    t = await make_tenant()
    supplier = await make_supplier_with_orders(owner_pool, t, [], nominal=21)
    body = (await http.get(f"{BASE}/supply", params={"supplier_id": str(supplier)}, headers=t.headers())).json()
    assert body["lead_time"]["basis"] == "nominal" and body["lead_time"]["mean_days"] == 21
    missing = await http.get(f"{BASE}/supply", params={"supplier_id": str(uuid.uuid4())}, headers=t.headers())
    assert (missing.status_code, missing.json()["code"]) == (404, "unknown_supplier")


async def test_inventory_policy_from_the_forecast_and_supplier_history(http, planner_tenant, owner_pool):
    t = planner_tenant
    supplier = await make_supplier_with_orders(owner_pool, t, [6, 7, 8, 7, 9, 7, 6, 8, 7, 7, 8, 6])
    payload = {
        "product_id": str(t.products[0]),
        "warehouse_id": str(t.warehouses[0]),
        "supplier_id": str(supplier),
        "service_level": 0.95,
        "ordering_cost": 40,
        "holding_cost_per_unit_year": 3.0,
    }
    response = await http.post(f"{BASE}/inventory-policy", json=payload, headers=t.headers(t.viewer))
    body = response.json()
    assert response.status_code == 200, body
    policy = body["policy"]
    assert body["lead_time_source"] == "supplier history (orders to this warehouse, every product)"
    assert policy["lead_time_periods"] == pytest.approx(7.17, abs=0.01)
    assert policy["safety_stock"] > 0 and policy["reorder_point"] > policy["lead_time_demand"]
    assert policy["eoq"] == pytest.approx((2 * body["demand_per_period"] * 40 / (3.0 / 365)) ** 0.5, rel=1e-6)
    assert (body["holding_cost_per_unit_year"], body["holding_cost_source"]) == (3.0, "given")
    assert body["simulation"]["cycles"] == 20_000
    assert body["recommended_reorder_point"] >= policy["reorder_point"] - 1e-9 or body["simulation"]["meets_target"]


async def test_inventory_policy_of_a_deactivated_product_plans_from_its_demand_as_the_forecast_does(
    http, make_tenant, owner_pool
):
    # Before, it answered "no demand history at this location" and planned zero, while /demand forecast its demand.
    t = await make_tenant()
    await post_daily_issues(owner_pool, t, t.products[0], t.warehouses[0], np.full(60, 10.0))
    await owner_pool.execute("UPDATE app.products SET active = false WHERE id = $1", t.products[0])
    response = await http.post(f"{BASE}/inventory-policy", json=first_series(t, lead_time_days=7), headers=t.headers())
    body = response.json()
    assert response.status_code == 200, body
    assert body["forecast_model"] != "zero" and "no demand history" not in body["forecast_reason"]
    assert body["demand_per_period"] == pytest.approx(10, rel=0.2)


async def test_inventory_policy_without_any_lead_time_is_a_clear_400(http, planner_tenant):
    t = planner_tenant
    payload = first_series(t)
    response = await http.post(f"{BASE}/inventory-policy", json=payload, headers=t.headers())
    assert (response.status_code, response.json()["code"]) == (400, "lead_time_unknown")


async def test_inventory_policy_refuses_an_impossible_service_level(http, planner_tenant):
    t = planner_tenant
    payload = first_series(t, service_level=1.0)
    response = await http.post(f"{BASE}/inventory-policy", json=payload, headers=t.headers())
    assert response.status_code == 422


async def test_inventory_policy_refuses_to_weigh_costs_in_two_currencies(http, planner_tenant, owner_pool):
    t = planner_tenant
    async with owner_pool.acquire() as conn:
        await conn.execute(
            "UPDATE app.products SET unit_cost = 300, unit_cost_currency = 'JPY' WHERE id = $1", t.products[0]
        )
    payload = first_series(t, lead_time_days=7, ordering_cost=40, cost_currency="EUR")
    response = await http.post(f"{BASE}/inventory-policy", json=payload, headers=t.headers())
    assert (response.status_code, response.json()["code"]) == (400, "currency_mismatch")


async def two_lane_supplier(owner_pool, tenant, receipts_here):
    """50 orders to the second warehouse took 2 days; ``receipts_here`` orders to the first took 30."""
    supplier = await make_supplier_with_orders(owner_pool, tenant, [], nominal=3)
    await add_received_orders(owner_pool, tenant, supplier, [2] * 50, 3, warehouse=1, every=3)
    await add_received_orders(owner_pool, tenant, supplier, [30] * receipts_here, 32)
    return supplier


@pytest.mark.parametrize(
    ("receipts_here", "lead_time", "source"),
    [
        (12, 30.0, "supplier history (orders to this warehouse, every product)"),
        (
            5,
            (50 * 2 + 5 * 30) / 55,
            "supplier history (all the supplier's orders, every warehouse and product: fewer than 10 receipts in "
            "orders to this warehouse)",
        ),
    ],
)
async def test_inventory_policy_plans_on_its_warehouses_own_lead_times_given_enough_receipts(
    http, planner_tenant, owner_pool, receipts_here, lead_time, source
):
    # Before, a warehouse 30 days away planned on the 2 days the supplier takes to another, as "supplier history".
    t = planner_tenant
    supplier = await two_lane_supplier(owner_pool, t, receipts_here)
    payload = first_series(t, supplier_id=str(supplier), service_level=0.95)
    response = await http.post(f"{BASE}/inventory-policy", json=payload, headers=t.headers())
    body = response.json()
    assert response.status_code == 200, body
    assert body["policy"]["lead_time_periods"] == pytest.approx(lead_time)
    assert body["lead_time_source"] == source


async def test_supply_prediction_for_a_warehouse_reads_its_own_orders_and_says_so(http, make_tenant, owner_pool):
    t = await make_tenant()
    supplier = await two_lane_supplier(owner_pool, t, 12)
    params = {"supplier_id": str(supplier), "warehouse_id": str(t.warehouses[0])}
    lead = (await http.get(f"{BASE}/supply", params=params, headers=t.headers())).json()["lead_time"]
    assert (lead["receipts"], lead["mean_days"]) == (12, pytest.approx(30.0))
    assert lead["notes"][-1] == "orders read: orders to this warehouse, every product"
    pooled = (await http.get(f"{BASE}/supply", params={"supplier_id": str(supplier)}, headers=t.headers())).json()
    assert pooled["lead_time"]["receipts"] == 62
    assert pooled["lead_time"]["notes"][-1] == "orders read: all the supplier's orders, every warehouse and product"
