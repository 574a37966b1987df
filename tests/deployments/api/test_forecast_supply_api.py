"""/ai/forecast/supply's ids, in process: an unknown one answers before any model is called, so no Serve is needed.
The lead-time estimates themselves: tests/deployments/test_planning_api.py."""

from __future__ import annotations

import uuid

import pytest

from tests.support.rows import insert

SUPPLY = "/api/v1/ai/forecast/supply"


@pytest.fixture
async def tenant_and_supplier(make_tenant, owner_pool):
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        supplier = await insert(conn, "suppliers", tenant_id=tenant.id, code="SUP-1", name="S", lead_time_days=5)
    return tenant, supplier


@pytest.mark.parametrize("noun", ["warehouse", "product"])
async def test_a_warehouse_or_product_that_does_not_exist_is_404_naming_it(http, tenant_and_supplier, noun):
    # Before, the supplier's pooled orders answered, as if the lane had fewer than 10 receipts.
    tenant, supplier = tenant_and_supplier
    unknown = uuid.uuid4()
    params = {"supplier_id": str(supplier), f"{noun}_id": str(unknown)}
    answer = await http.get(SUPPLY, params=params, headers=tenant.headers())
    assert (answer.status_code, answer.json()["code"]) == (404, f"unknown_{noun}"), answer.text
    assert answer.json()["message"] == f"no {noun} {unknown}"


@pytest.mark.parametrize("noun", ["warehouse", "product"])
async def test_another_tenants_warehouse_or_product_is_404_as_an_unknown_one(
    http, make_tenant, tenant_and_supplier, noun
):
    tenant, supplier = tenant_and_supplier
    other = await make_tenant()
    theirs = (other.warehouses if noun == "warehouse" else other.products)[0]
    params = {"supplier_id": str(supplier), f"{noun}_id": str(theirs)}
    answer = await http.get(SUPPLY, params=params, headers=tenant.headers())
    assert (answer.status_code, answer.json()["code"]) == (404, f"unknown_{noun}"), answer.text


async def test_an_unknown_supplier_is_named_before_an_unknown_warehouse(http, make_tenant):
    tenant = await make_tenant()
    params = {"supplier_id": str(uuid.uuid4()), "warehouse_id": str(uuid.uuid4())}
    answer = await http.get(SUPPLY, params=params, headers=tenant.headers())
    assert (answer.status_code, answer.json()["code"]) == (404, "unknown_supplier"), answer.text
