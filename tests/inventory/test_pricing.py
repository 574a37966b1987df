"""Default line prices come from evidence in the order's own currency (inventory/pricing.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from common.database import TenantTransaction
from common.errors import ConflictError, InvalidInputError
from inventory import pricing, purchasing
from inventory.purchasing_schemas import PurchaseOrderUpdate
from tests.inventory.test_purchasing import add_supplier, new_order, receive, run
from tests.support.rows import insert

D = Decimal


async def costed_tenant(make_tenant, owner_pool, cost: str = "2", currency: str = "EUR"):
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        await conn.execute(
            "UPDATE app.products SET unit_cost = $2, unit_cost_currency = $3 WHERE tenant_id = $1",
            tenant.id,
            D(cost),
            currency,
        )
    await add_supplier(owner_pool, tenant)
    return tenant


async def order_count(owner_pool, tenant) -> int:
    async with owner_pool.acquire() as conn:
        count: int = await conn.fetchval("SELECT count(*) FROM app.purchase_orders WHERE tenant_id = $1", tenant.id)
    return count


async def test_a_unit_cost_prices_a_line_only_in_the_currency_it_is_kept_in(database, owner_pool, make_tenant):
    # Before, an order in JPY copied a 2 EUR cost as 2 JPY.
    tenant = await costed_tenant(make_tenant, owner_pool)
    unpriced = [{"product_id": tenant.products[0], "quantity": 3}]
    in_euros = await new_order(database, owner_pool, tenant, unpriced, issue=False)
    assert in_euros["lines"][0]["unit_price"] == D(2)
    with pytest.raises(InvalidInputError, match=r"SKU-0 costs 2\.0000 EUR, not JPY") as refused:
        await new_order(database, owner_pool, tenant, unpriced, issue=False, currency="JPY")
    assert refused.value.code == "unit_price_required"
    assert await order_count(owner_pool, tenant) == 1


def priced(product, price: str, **extra) -> list[dict]:
    return [{"product_id": product, "quantity": 1, "unit_price": price, **extra}]


async def test_a_line_takes_the_suppliers_last_issued_price_in_the_orders_currency(database, owner_pool, make_tenant):
    tenant = await costed_tenant(make_tenant, owner_pool)
    product = tenant.products[0]
    await new_order(database, owner_pool, tenant, priced(product, "240"), currency="JPY")
    # A dozen at 300 JPY is 25 JPY each, and it is the supplier's latest issued price.
    await new_order(database, owner_pool, tenant, priced(product, "300", uom="dozen"), currency="JPY")
    # Neither a draft nor another supplier's order is a price this supplier charged.
    await new_order(database, owner_pool, tenant, priced(product, "999"), issue=False, currency="JPY")
    ours = tenant.extra["supplier"]
    async with owner_pool.acquire() as conn:
        tenant.extra["supplier"] = await insert(conn, "suppliers", tenant_id=tenant.id, code="SUP-2", name="Other")
    await new_order(database, owner_pool, tenant, priced(product, "777"), currency="JPY")
    tenant.extra["supplier"] = ours
    unpriced = [{"product_id": product, "quantity": 2}, {"product_id": product, "quantity": 1, "uom": "dozen"}]
    order = await new_order(database, owner_pool, tenant, unpriced, issue=False, currency="JPY")
    assert [ln["unit_price"] for ln in order["lines"]] == [D(25), D(300)]


async def test_a_cost_that_four_decimals_cannot_keep_per_ordered_unit_is_refused_not_rounded_away(
    database, owner_pool, make_tenant
):
    # 1.2345 EUR per kg is 0.0012345 per g: kept as 0.0012, 50,000 g would total 60.00 where the cost says 61.725.
    tenant = await costed_tenant(make_tenant, owner_pool, cost="1.2345")
    await owner_pool.execute("UPDATE app.products SET unit_of_measure = 'kg' WHERE id = $1", tenant.products[0])
    in_grams = [{"product_id": tenant.products[0], "quantity": 50000, "uom": "g"}]
    with pytest.raises(InvalidInputError, match=r"SKU-0 at 1\.2345 EUR per kg is 0\.0012345 per g") as refused:
        await new_order(database, owner_pool, tenant, in_grams, issue=False)
    assert refused.value.code == "unit_price_required"
    await owner_pool.execute("UPDATE app.products SET unit_cost = 2 WHERE id = $1", tenant.products[0])
    order = await new_order(database, owner_pool, tenant, in_grams, issue=False)  # 0.002 per g: kept exactly
    assert (order["lines"][0]["unit_price"], order["total_amount"]) == (D("0.002"), D(100))


async def test_a_product_without_a_unit_cost_or_a_price_paid_is_refused_naming_it(database, owner_pool, make_tenant):
    tenant = await make_tenant()
    await add_supplier(owner_pool, tenant)
    with pytest.raises(InvalidInputError, match=r"lines\[0\]: .*SKU-1 has no unit cost, and supplier SUP-1 has no"):
        await new_order(database, owner_pool, tenant, [{"product_id": tenant.products[1], "quantity": 1}])


async def test_an_order_with_lines_keeps_the_currency_its_prices_are_in(database, owner_pool, make_tenant):
    tenant = await costed_tenant(make_tenant, owner_pool)
    costed = [{"product_id": tenant.products[0], "quantity": 1}]
    with_lines = await new_order(database, owner_pool, tenant, costed, issue=False)
    empty = await new_order(database, owner_pool, tenant, [], issue=False)

    def to_yen(order: dict):
        async def op(tx: TenantTransaction):
            return await purchasing.update_order(tx.conn, order["id"], PurchaseOrderUpdate(currency="JPY"))

        return op

    with pytest.raises(ConflictError, match="has lines priced in EUR") as refused:
        await run(database, tenant, to_yen(with_lines))
    assert refused.value.code == "currency_has_lines"
    assert (await run(database, tenant, to_yen(empty)))["currency"] == "JPY"


async def test_an_order_is_in_its_suppliers_currency_unless_the_buyer_names_one(database, owner_pool, make_tenant):
    tenant = await costed_tenant(make_tenant, owner_pool, cost="300", currency="JPY")
    async with owner_pool.acquire() as conn:
        await conn.execute("UPDATE app.suppliers SET currency = 'JPY' WHERE id = $1", tenant.extra["supplier"])
    unpriced = [{"product_id": tenant.products[0], "quantity": 1}]
    in_yen = await new_order(database, owner_pool, tenant, unpriced, issue=False)
    assert (in_yen["currency"], in_yen["lines"][0]["unit_price"]) == ("JPY", D(300))
    in_euros = await new_order(database, owner_pool, tenant, priced(tenant.products[0], "2"), currency="EUR")
    assert in_euros["currency"] == "EUR"


async def test_the_last_price_paid_is_dated_on_the_receiving_warehouses_calendar(database, owner_pool, make_tenant):
    # Before, the database session's date (UTC): an order issued at 17:00 on 1 March in Los Angeles read "issued
    # 2026-03-02", where the delivery history dates the order 1 March.
    tenant = await make_tenant()
    product = tenant.products[0]
    order = await new_order(database, owner_pool, tenant, priced(product, "3"))
    async with owner_pool.acquire() as conn:
        await conn.execute(
            "UPDATE app.warehouses SET timezone = 'America/Los_Angeles' WHERE id = $1", tenant.warehouses[0]
        )
        await conn.execute(
            "UPDATE app.purchase_orders SET issued_at = $2 WHERE id = $1",
            order["id"],
            datetime(2026, 3, 2, 1, tzinfo=UTC),
        )
    evidence = await run(
        database, tenant, lambda tx: pricing.price_evidence(tx.conn, tenant.extra["supplier"], "EUR", [product])
    )
    assert evidence[product].source == f"{order['number']} issued 2026-03-01"


async def test_a_free_line_is_not_the_last_price_paid(database, owner_pool, make_tenant):
    # Before, 2 free samples (line 2 of PO-000002, at 0) priced every later line at 0.0000.
    tenant = await make_tenant()
    product = tenant.products[0]
    await new_order(database, owner_pool, tenant, priced(product, "12.50"))
    samples = [{"product_id": product, "quantity": 100, "unit_price": "12.00"}, *priced(product, "0", quantity=2)]
    await new_order(database, owner_pool, tenant, samples)
    order = await new_order(database, owner_pool, tenant, [{"product_id": product, "quantity": 50}], issue=False)
    assert (order["lines"][0]["unit_price"], order["total_amount"]) == (D(12), D(600))  # line 1 of PO-000002


async def test_a_line_closed_with_nothing_received_is_not_the_last_price_paid(database, owner_pool, make_tenant):
    tenant = await make_tenant()
    product, other = tenant.products
    await new_order(database, owner_pool, tenant, priced(product, "12"))
    unshipped = await new_order(database, owner_pool, tenant, [*priced(other, "5"), *priced(product, "15")])
    received = {"line_id": unshipped["lines"][0]["id"], "quantity": 1}
    await receive(database, tenant, unshipped, received, close_backorder=True)  # the 15 was never shipped
    order = await new_order(database, owner_pool, tenant, [{"product_id": product, "quantity": 1}], issue=False)
    assert order["lines"][0]["unit_price"] == D(12)
