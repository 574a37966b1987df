"""Reorder proposals round to whole items of a count unit, by the inventory policy's rule (inventory.order_rounding)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from common.database import TenantTransaction
from common.errors import InvalidInputError
from inventory import reorder
from inventory.order_rounding import order_step, round_up_to_step
from inventory.purchasing_schemas import ReorderRuleUpdate
from tests.inventory.test_reorder import add_rule, arrange, order_in
from training.policy_terms import ordering_terms

D = Decimal


async def proposed(database, tenant) -> dict[str, Decimal]:
    async def propose(tx: TenantTransaction):
        return await reorder.proposals(tx.conn, {}, datetime.now(UTC).date())

    return {p["sku"]: p["quantity"] for p in await database.run(tenant.claims(), None, propose)}


async def test_a_product_counted_in_each_without_a_multiple_is_proposed_in_whole_items(
    database, owner_pool, make_tenant
):
    # Before, an empty shelf under a rule up to 12.37 proposed 12.37 items.
    tenant = await make_tenant()
    supplier = await arrange(owner_pool, tenant)
    await add_rule(database, tenant, supplier, 0, 0, 5, "12.37", 0)
    await add_rule(database, tenant, supplier, 1, 0, 5, "12.37", "0.5")
    assert await proposed(database, tenant) == {"SKU-0": D(13), "SKU-1": D(13)}


async def test_a_product_counted_in_dozens_is_proposed_in_whole_items_and_drafted_so(database, owner_pool, make_tenant):
    # Before, 2.3 dozen (27.6 items) was proposed and drafted. 28 items is 2.3333... dozen, which no order line
    # keeps (four decimals): the fewest whole items a line keeps exactly are 3, a quarter dozen, so 30 items.
    tenant = await make_tenant(units={0: "dozen"})
    supplier = await arrange(owner_pool, tenant)
    await add_rule(database, tenant, supplier, 0, 0, 1, "2.3", 0)
    assert await proposed(database, tenant) == {"SKU-0": D("2.5")}
    (draft,) = await order_in(database, tenant, "EUR")
    assert [(line["quantity"], line["quantity"] * 12) for line in draft["lines"]] == [(D("2.5"), D(30))]


async def test_a_product_measured_in_kg_without_a_multiple_is_proposed_as_needed(database, owner_pool, make_tenant):
    tenant = await make_tenant(units={0: "kg"})
    supplier = await arrange(owner_pool, tenant)
    await add_rule(database, tenant, supplier, 0, 0, 5, "12.37", 0)
    assert await proposed(database, tenant) == {"SKU-0": D("12.37")}


@pytest.mark.parametrize(
    ("unit", "maximum", "multiple"),
    [("each", "12.37", "0"), ("each", "40.2", "12"), ("dozen", "2.3", "0"), ("dozen", "2.3", "0.1"),
     ("kg", "12.37", "0"), ("kg", "12.37", "0.5"), ("pair", "3.2", "0"), ("thousand", "1.2345", "0")],
)  # fmt: skip
async def test_the_policy_and_the_proposal_round_the_same_need_alike(
    database, owner_pool, make_tenant, unit, maximum, multiple
):
    tenant = await make_tenant(units={0: unit})
    supplier = await arrange(owner_pool, tenant)
    await add_rule(database, tenant, supplier, 0, 0, 1, maximum, multiple)  # an empty shelf: the need is maximum

    async def policy_terms(tx: TenantTransaction):
        return await ordering_terms(tx.conn, tenant.products[0], tenant.warehouses[0], None, datetime.now(UTC))

    # What the inventory policy looks up and rounds its order to (deployments/api/routes/forecast.py, planning).
    terms = await database.run(tenant.claims(), None, policy_terms)
    step = order_step(terms.rule_order_multiple, terms.unit_of_measure, terms.unit_category, terms.unit_ratio)
    assert float((await proposed(database, tenant))["SKU-0"]) == round_up_to_step(float(maximum), step)


@pytest.mark.parametrize(
    ("unit", "maximum", "multiple"), [("each", "99999999999999.5", "0"), ("dozen", "99999999999999.8", "0.1")]
)
async def test_a_rule_whose_proposal_rounded_to_whole_items_could_pass_what_an_order_keeps_is_refused(
    database, owner_pool, make_tenant, unit, maximum, multiple
):
    # Before, max + order_multiple (99999999999999.5 + 0) passed the check, the proposal rounded up to a whole item
    # (10^14) did not, and every proposal of the tenant was refused (400 too_large) from then on.
    tenant = await make_tenant(units={0: unit})
    supplier = await arrange(owner_pool, tenant)
    with pytest.raises(InvalidInputError, match="could pass the largest quantity kept") as refused:
        await add_rule(database, tenant, supplier, 0, 0, 5, maximum, multiple)
    assert refused.value.code == "too_large"
    rule = await add_rule(database, tenant, supplier, 0, 0, 5, 20, multiple)

    async def widen(tx: TenantTransaction):
        return await reorder.update_rule(tx.conn, rule["id"], ReorderRuleUpdate(max_quantity=D(maximum)))

    with pytest.raises(InvalidInputError, match="could pass the largest quantity kept"):
        await database.run(tenant.claims(), None, widen)
    assert set(await proposed(database, tenant)) == {"SKU-0"}


async def test_a_measured_units_rule_up_to_just_below_what_an_order_keeps_is_proposed_as_it_is(
    database, owner_pool, make_tenant
):
    tenant = await make_tenant(units={0: "kg"})
    supplier = await arrange(owner_pool, tenant)
    await add_rule(database, tenant, supplier, 0, 0, 5, "99999999999999.5", 0)
    assert await proposed(database, tenant) == {"SKU-0": D("99999999999999.5")}
