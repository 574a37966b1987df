"""/ai/forecast/inventory-policy for what the tenant no longer buys: a deactivated product, warehouse or supplier.

Reorder proposals, rules and drafts treat them as "do not buy"; until 2026-12-07 the policy still said "order 828
now". In process (the app's routes with ``InProcessForecast``, real PostgreSQL, no Ray)."""

from __future__ import annotations

import pytest

from tests.deployments.forecast_rows import first_series, post_daily_issues, weekday_demand
from tests.support.rows import insert

POLICY = "/api/v1/ai/forecast/inventory-policy"


async def tenant_with_rule(make_tenant, owner_pool):
    """A tenant whose first series has 120 days of demand, no stock left to speak of, and a rule with SUP-1."""
    t = await make_tenant()
    await post_daily_issues(owner_pool, t, t.products[0], t.warehouses[0], weekday_demand(120))
    async with owner_pool.acquire() as conn:
        supplier = await insert(conn, "suppliers", tenant_id=t.id, code="SUP-1", name="S", lead_time_days=9)
        await insert(
            conn, "reorder_rules", tenant_id=t.id, product_id=t.products[0], warehouse_id=t.warehouses[0],
            supplier_id=supplier, min_quantity=100, max_quantity=400, order_multiple=12, lead_time_days=9,
        )  # fmt: skip
    return t, supplier


@pytest.mark.parametrize("table", ["products", "warehouses"])
async def test_a_deactivated_product_or_warehouse_gets_the_policy_and_order_now_0_with_the_reason(
    api, make_tenant, owner_pool, table
):
    t, _ = await tenant_with_rule(make_tenant, owner_pool)
    # The lead time given: deactivating the product or warehouse deactivates its rule, and the rule's days with it.
    body = first_series(t, lead_time_days=9)
    active = (await api.post(POLICY, json=body, headers=t.headers())).json()
    assert active["order_now"] > 0 and active.get("order_now_note") is None
    row = t.products[0] if table == "products" else t.warehouses[0]
    await owner_pool.execute(f"UPDATE app.{table} SET active = false WHERE id = $1", row)
    response = await api.post(POLICY, json=body, headers=t.headers())
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["order_now"] == 0  # before: "order 828 now"
    assert f"{table[:-1]} " in body["order_now_note"] and "inactive" in body["order_now_note"]
    assert body["recommended_reorder_point"] == pytest.approx(active["recommended_reorder_point"])


async def test_naming_a_deactivated_supplier_is_refused(api, make_tenant, owner_pool):
    t, supplier = await tenant_with_rule(make_tenant, owner_pool)
    await owner_pool.execute("UPDATE app.suppliers SET active = false WHERE id = $1", supplier)
    response = await api.post(POLICY, json=first_series(t, supplier_id=str(supplier)), headers=t.headers())
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "inactive_supplier"


async def test_the_supplier_is_not_taken_from_a_deactivated_suppliers_latest_order(api, make_tenant, owner_pool):
    t = await make_tenant()
    await post_daily_issues(owner_pool, t, t.products[0], t.warehouses[0], weekday_demand(60))
    async with owner_pool.acquire() as conn:
        supplier = await insert(conn, "suppliers", tenant_id=t.id, code="SUP-1", name="S", lead_time_days=9)
        order = await insert(
            conn, "purchase_orders", tenant_id=t.id, supplier_id=supplier, warehouse_id=t.warehouses[0],
            currency="EUR", status="draft",
        )  # fmt: skip
        await insert(
            conn, "purchase_order_lines", tenant_id=t.id, purchase_order_id=order, line_no=1,
            product_id=t.products[0], quantity=10, uom="each", uom_factor=1,
            quantity_base=10, unit_price=1,
        )  # fmt: skip
    named = (await api.post(POLICY, json=first_series(t), headers=t.headers())).json()
    assert named["supplier_id"] == str(supplier)
    await owner_pool.execute("UPDATE app.suppliers SET active = false WHERE id = $1", supplier)
    body = (await api.post(POLICY, json=first_series(t, lead_time_days=5), headers=t.headers())).json()
    assert body["supplier_id"] is None  # before: the deactivated supplier, and its nominal lead time
