"""/ai/forecast/inventory-policy's lead time when the request names the supplier of the location's reorder rule.

In process (the app's routes with ``InProcessForecast``, real PostgreSQL, no Ray): the rule's lead time is the
estimate's prior, or the fallback, whether the supplier comes from the rule or from the request."""

from __future__ import annotations

import pytest

from tests.deployments.forecast_rows import first_series, post_daily_issues, weekday_demand
from tests.support.rows import insert

POLICY = "/api/v1/ai/forecast/inventory-policy"
RULE_DAYS = 9


async def tenant_with_rule(make_tenant, owner_pool, supplier_lead_days):
    """A tenant whose first series has demand and a reorder rule of RULE_DAYS with a supplier of no receipts,
    whose own nominal lead time is ``supplier_lead_days``; returns (tenant, supplier)."""
    t = await make_tenant()
    await post_daily_issues(owner_pool, t, t.products[0], t.warehouses[0], weekday_demand(60))
    async with owner_pool.acquire() as conn:
        supplier = await insert(
            conn, "suppliers", tenant_id=t.id, code="SUP-1", name="S", lead_time_days=supplier_lead_days
        )
        await insert(
            conn, "reorder_rules", tenant_id=t.id, product_id=t.products[0], warehouse_id=t.warehouses[0],
            supplier_id=supplier, min_quantity=100, max_quantity=400, lead_time_days=RULE_DAYS,
        )  # fmt: skip
    return t, supplier


async def test_naming_the_rules_supplier_without_a_nominal_lead_time_plans_with_the_rules_days(
    api, make_tenant, owner_pool
):
    # Before, naming the supplier dropped the rule's days: 400 lead_time_unknown, "pass ... supplier_id".
    t, supplier = await tenant_with_rule(make_tenant, owner_pool, None)
    response = await api.post(POLICY, json=first_series(t, supplier_id=str(supplier)), headers=t.headers())
    body = response.json()
    assert response.status_code == 200, body
    assert body["policy"]["lead_time_periods"] == pytest.approx(RULE_DAYS)
    assert body["lead_time_source"] == "reorder rule (no receipts from the supplier yet)"


async def test_naming_the_rules_supplier_plans_as_omitting_it_does(api, make_tenant, owner_pool):
    # Before, naming it planned with the supplier's nominal 30 days, omitting it with the rule's 9.
    t, supplier = await tenant_with_rule(make_tenant, owner_pool, 30)
    named = (await api.post(POLICY, json=first_series(t, supplier_id=str(supplier)), headers=t.headers())).json()
    omitted = (await api.post(POLICY, json=first_series(t), headers=t.headers())).json()
    assert named["policy"]["lead_time_periods"] == pytest.approx(RULE_DAYS)
    assert (named["supplier_id"], named["lead_time_source"]) == (omitted["supplier_id"], omitted["lead_time_source"])
    assert named["policy"]["reorder_point"] == pytest.approx(omitted["policy"]["reorder_point"])


async def test_another_supplier_named_does_not_take_the_rules_days(api, make_tenant, owner_pool):
    t, _ = await tenant_with_rule(make_tenant, owner_pool, None)
    async with owner_pool.acquire() as conn:
        other = await insert(conn, "suppliers", tenant_id=t.id, code="SUP-2", name="Other", lead_time_days=30)
    body = (await api.post(POLICY, json=first_series(t, supplier_id=str(other)), headers=t.headers())).json()
    assert (body["policy"]["lead_time_periods"], body["lead_time_source"]) == (pytest.approx(30), "supplier nominal")


async def test_a_named_supplier_with_nothing_to_estimate_from_is_told_what_is_missing(api, make_tenant, owner_pool):
    t, _ = await tenant_with_rule(make_tenant, owner_pool, 30)
    async with owner_pool.acquire() as conn:
        other = await insert(conn, "suppliers", tenant_id=t.id, code="SUP-2", name="Other", lead_time_days=None)
    response = await api.post(POLICY, json=first_series(t, supplier_id=str(other)), headers=t.headers())
    body = response.json()
    assert (response.status_code, body["code"]) == (400, "lead_time_unknown")
    assert "no receipts yet and no nominal lead time" in body["message"] and "supplier_id" not in body["message"]
