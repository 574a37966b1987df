"""One inventory position for stock policies and reorder proposals: on hand, reserved, and on order with drafts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from common.database import TenantTransaction
from common.errors import NotFoundError
from inventory import purchasing, reorder
from inventory.position import location_position
from inventory.purchasing_schemas import PurchaseOrderCreate, ReorderRuleCreate
from tests.support.rows import insert


async def test_position_counts_a_draft_order_exactly_as_reorder_proposals_count_it(database, owner_pool, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(30)})
    async with owner_pool.acquire() as conn:
        supplier = await insert(conn, "suppliers", tenant_id=tenant.id, code="SUP-P", name="P", lead_time_days=5)
        await conn.execute(
            "UPDATE app.products SET unit_cost = 3, unit_cost_currency = 'JPY' WHERE id = $1", tenant.products[0]
        )
        await conn.execute(
            "UPDATE app.stock_levels SET reserved = 8 WHERE product_id = $1 AND warehouse_id = $2",
            tenant.products[0],
            tenant.warehouses[0],
        )
    product, warehouse = tenant.products[0], tenant.warehouses[0]
    draft = PurchaseOrderCreate.model_validate(
        {
            "supplier_id": supplier,
            "warehouse_id": warehouse,
            "lines": [{"product_id": product, "quantity": 5, "unit_price": 2}],
        }
    )
    rule = ReorderRuleCreate(
        product_id=product, warehouse_id=warehouse, supplier_id=supplier, min_quantity=Decimal(100),
        max_quantity=Decimal(100), order_multiple=Decimal(1),
    )  # fmt: skip

    async def arrange_and_read(tx: TenantTransaction):
        await purchasing.create_order(tx.conn, tx.tenant_id, tx.user_id, draft, default_tolerance_pct=Decimal(0))
        await reorder.create_rule(tx.conn, tx.tenant_id, rule)
        return await location_position(tx.conn, product, warehouse), await reorder.proposals(
            tx.conn, {}, datetime.now(UTC).date()
        )

    position, proposals = await database.run(tenant.claims(), None, arrange_and_read)
    assert (position.on_hand, position.reserved, position.on_order) == (30.0, 8.0, 5.0)
    assert (position.unit_cost, position.unit_cost_currency) == (3.0, "JPY")
    assert position.inventory_position == float(proposals[0]["projected"]) == 27.0


async def test_position_of_an_unknown_warehouse_is_not_found(database, make_tenant):
    tenant = await make_tenant()

    async def read(tx: TenantTransaction):
        return await location_position(tx.conn, tenant.products[0], uuid.uuid4())

    with pytest.raises(NotFoundError, match="no warehouse"):
        await database.run(tenant.claims(), None, read)
