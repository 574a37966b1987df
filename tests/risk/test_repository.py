"""The risk domain's reads of purchase orders: dates on the receiving warehouse's calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pandas as pd

from common.database import TenantTransaction
from inventory import purchasing
from inventory.purchasing_schemas import PurchaseOrderCreate, PurchaseReceiptCreate
from risk import repository
from tests.support.rows import insert

DUE = date(2026, 3, 10)
DUE_EVENING_IN_LOS_ANGELES = datetime(2026, 3, 11, 2, tzinfo=UTC)  # 19:00 PDT on the due date


async def issue_on(tx: TenantTransaction, order_id, issued_at: datetime) -> None:
    """Backdate the order's issue, so that receipts dated in the past may follow it."""
    await tx.conn.execute("UPDATE app.purchase_orders SET issued_at = $2 WHERE id = $1", order_id, issued_at)


async def test_a_receipt_on_the_due_evening_in_los_angeles_is_delivered_on_the_due_date(
    database, owner_pool, make_tenant
):
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        supplier = await insert(conn, "suppliers", tenant_id=tenant.id, code="SUP-LA", name="Supplier")
        await conn.execute(
            "UPDATE app.warehouses SET timezone = 'America/Los_Angeles' WHERE id = $1", tenant.warehouses[0]
        )
    body = PurchaseOrderCreate.model_validate(
        {
            "supplier_id": supplier,
            "warehouse_id": tenant.warehouses[0],
            "expected_date": DUE,
            "lines": [{"product_id": tenant.products[0], "quantity": 5, "unit_price": "2.5"}],
        }
    )

    async def order_and_receive(tx: TenantTransaction):
        order = await purchasing.create_order(tx.conn, tx.tenant_id, tx.user_id, body, default_tolerance_pct=Decimal(0))
        order = await purchasing.issue_order(tx.conn, tx.tenant_id, order["id"])
        # Issued at 17:00 PST on 1 March, 01:00 UTC on the 2nd (a receipt may not be dated before its order).
        await issue_on(tx, order["id"], datetime(2026, 3, 2, 1, tzinfo=UTC))
        receipt = PurchaseReceiptCreate.model_validate(
            {"received_at": DUE_EVENING_IN_LOS_ANGELES, "lines": [{"line_id": order["lines"][0]["id"], "quantity": 5}]}
        )
        await purchasing.receive(tx.conn, tx.tenant_id, tx.user_id, order["id"], receipt)
        return order

    await database.run(tenant.claims(), None, order_and_receive)

    history = await database.run(tenant.claims(), None, lambda tx: repository.load_delivery_history(tx.conn))
    (delivery,) = history.to_dict("records")
    assert (delivery["order_date"], delivery["promised_date"], delivery["delivered_date"]) == (
        pd.Timestamp(2026, 3, 1),
        pd.Timestamp(DUE),
        pd.Timestamp(DUE),
    )


async def test_a_line_closed_with_nothing_received_is_no_delivery(database, owner_pool, make_tenant):
    # Before, it had no delivery date, so it read as open for ever: late once its promised date passed.
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        supplier = await insert(conn, "suppliers", tenant_id=tenant.id, code="SUP-C", name="Supplier")
    body = PurchaseOrderCreate.model_validate(
        {
            "supplier_id": supplier,
            "warehouse_id": tenant.warehouses[0],
            "expected_date": DUE,
            "lines": [
                {"product_id": tenant.products[0], "quantity": 5, "unit_price": "2.5"},
                {"product_id": tenant.products[1], "quantity": 3, "unit_price": "1"},
            ],
        }
    )

    async def order_and_close(tx: TenantTransaction):
        order = await purchasing.create_order(tx.conn, tx.tenant_id, tx.user_id, body, default_tolerance_pct=Decimal(0))
        order = await purchasing.issue_order(tx.conn, tx.tenant_id, order["id"])
        await issue_on(tx, order["id"], datetime(2026, 3, 2, 9, tzinfo=UTC))
        receipt = PurchaseReceiptCreate.model_validate(
            {"received_at": datetime(2026, 3, 9, 12, tzinfo=UTC), "close_backorder": True,
             "lines": [{"line_id": order["lines"][0]["id"], "quantity": 5}]}
        )  # fmt: skip
        await purchasing.receive(tx.conn, tx.tenant_id, tx.user_id, order["id"], receipt)
        return order

    order = await database.run(tenant.claims(), None, order_and_close)
    history = await database.run(tenant.claims(), None, lambda tx: repository.load_delivery_history(tx.conn))
    assert [(r["id"], r["delivered_date"]) for r in history.to_dict("records")] == [
        (order["lines"][0]["id"], pd.Timestamp(2026, 3, 9))
    ]


async def test_the_history_at_an_instant_dates_each_order_line_at_its_receiving_warehouse(world, owner_pool):
    # 02:30 UTC on 2 June is still 1 June in Los Angeles; a warehouse without a zone and an imported delivery (no
    # warehouse) have no date of their own there.
    supplier = await world.supplier("SUP-D")
    await world.deliveries(supplier, 1, delay_days=0)
    in_los_angeles = await world.open_order(supplier, issued=date(2026, 5, 20), expected=date(2026, 6, 1))
    zoneless = await world.open_order(supplier, issued=date(2026, 5, 20), expected=date(2026, 6, 1))
    await owner_pool.execute(
        "UPDATE app.warehouses SET timezone = 'America/Los_Angeles' WHERE id = $1", world.tenant.warehouses[0]
    )
    await owner_pool.execute(
        "UPDATE app.purchase_orders SET warehouse_id = $2 WHERE id = $1", zoneless, world.tenant.warehouses[1]
    )
    at = datetime(2026, 6, 2, 2, 30, tzinfo=UTC)
    history = await world.run(lambda tx: repository.load_delivery_history(tx.conn, at=at))
    docks = {r["purchase_order_id"] or r["source"]: r["dock_today"] for r in history.to_dict("records")}
    assert docks.keys() == {in_los_angeles, zoneless, "import"}
    assert docks[in_los_angeles] == pd.Timestamp(2026, 6, 1)
    assert pd.isna(docks[zoneless]) and pd.isna(docks["import"])
