"""/ai/forecast/inventory-policy orders what can be ordered: whole cases of the reorder rule's multiple, whole units.

Before 2026-12-07 it said "order 2074.057605 now" of a product counted in ``each`` whose rule orders in twelves,
while /reorder-proposals proposed 396. In process (the app's routes with ``InProcessForecast``, real PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.deployments.forecast_rows import first_series, post_daily_issues, weekday_demand
from tests.support.rows import insert

POLICY = "/api/v1/ai/forecast/inventory-policy"


async def tenant(make_tenant, owner_pool, order_multiple):
    t = await make_tenant()
    await post_daily_issues(owner_pool, t, t.products[0], t.warehouses[0], weekday_demand(60))
    async with owner_pool.acquire() as conn:
        supplier = await insert(conn, "suppliers", tenant_id=t.id, code="SUP-1", name="S", lead_time_days=9)
        await insert(
            conn, "reorder_rules", tenant_id=t.id, product_id=t.products[0], warehouse_id=t.warehouses[0],
            supplier_id=supplier, min_quantity=100, max_quantity=400, order_multiple=order_multiple, lead_time_days=9,
        )  # fmt: skip
        await conn.execute(
            "UPDATE app.products SET unit_cost = 2, unit_cost_currency = 'EUR' WHERE id = $1",
            t.products[0],
        )
    return t


@pytest.mark.parametrize("review_period_days", [0, 7])
async def test_order_now_and_the_order_quantity_are_whole_multiples_of_the_rules_order_multiple(
    api, make_tenant, owner_pool, review_period_days
):
    t = await tenant(make_tenant, owner_pool, 12)
    body = first_series(t, ordering_cost=50, review_period_days=review_period_days)
    response = await api.post(POLICY, json=body, headers=t.headers())
    assert response.status_code == 200, response.json()
    result = response.json()
    assert result["order_now"] > 0 and result["order_now"] % 12 == 0, result["order_now"]  # before: 2074.057605
    assert result["policy"]["order_quantity"] % 12 == 0
    assert result["order_multiple"] == 12


async def test_a_count_unit_is_ordered_in_whole_units_and_the_request_may_name_the_multiple(
    api, make_tenant, owner_pool
):
    t = await tenant(make_tenant, owner_pool, 0)
    plain = (await api.post(POLICY, json=first_series(t), headers=t.headers())).json()
    assert plain["order_now"] == int(plain["order_now"]) and plain["order_multiple"] == 1
    named = (await api.post(POLICY, json=first_series(t, order_multiple=40), headers=t.headers())).json()
    assert named["order_now"] % 40 == 0 and named["order_multiple"] == 40
    assert plain["order_now"] <= named["order_now"] < plain["order_now"] + 40


async def test_the_catalogues_count_units_decide_the_whole_item_step(api, make_tenant, owner_pool):
    t = await make_tenant()
    async with owner_pool.acquire() as conn:  # before any movement: a product's unit is fixed once it has stock
        await conn.execute("UPDATE app.products SET unit_of_measure = 'dozen' WHERE id = $1", t.products[0])
    await post_daily_issues(owner_pool, t, t.products[0], t.warehouses[0], weekday_demand(60) / 7)
    response = await api.post(POLICY, json=first_series(t, lead_time_days=9), headers=t.headers())
    assert response.status_code == 200, response.json()
    dozens = response.json()
    # 3 items, the fewest a four-decimal quantity holds exactly, as reorder proposals round (1/12 until 2026-12-08,
    # which no order line keeps; before that 1, a whole dozen, or not rounded at all)
    assert dozens["order_multiple"] == 0.25
    assert dozens["order_now"] * 12 == pytest.approx(round(dozens["order_now"] * 12))


async def test_an_order_multiple_finer_than_a_quantity_keeps_is_refused_naming_it(api, make_tenant, owner_pool):
    # Before, 1e-27 of a product in kg was taken, and rounding the order to it was a 500 (decimal.InvalidOperation).
    async def kg_tenant():
        return await make_tenant(units={0: "kg"})

    t = await tenant(kg_tenant, owner_pool, 0)
    for multiple in (1e-27, 0.00009):
        response = await api.post(POLICY, json=first_series(t, order_multiple=multiple), headers=t.headers())
        assert response.status_code == 422, response.text
        assert [d["location"] for d in response.json()["details"]] == [["body", "order_multiple"]]
    finest = (await api.post(POLICY, json=first_series(t, order_multiple=0.0001), headers=t.headers())).json()
    assert finest["order_multiple"] == 0.0001 and finest["order_now"] == round(finest["order_now"], 4)
