"""A supplier's purchase orders from the database (training.supplier_history), against the real schema."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from tests.support.rows import set_time_zone
from tests.support.tenant_reads import as_planner
from training.supplier_history import scoped_supplier_history, supplier_history
from training.supply import estimate_lead_time
from training.supply_arrivals import predict_open_orders

ISSUED = datetime(2025, 1, 6, 9, tzinfo=UTC)  # when the tests' orders went out


async def tenant_with_supplier(make_tenant, owner_pool):
    """A new tenant and a supplier of its without a nominal lead time."""
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        supplier = await conn.fetchval(
            "INSERT INTO app.suppliers (tenant_id, code, name) VALUES ($1, 'S', 'S') RETURNING id", tenant.id
        )
    return tenant, supplier


async def test_supplier_history_pairs_orders_with_their_first_receipt(database, make_tenant, owner_pool):
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        supplier = await conn.fetchval(
            "INSERT INTO app.suppliers (tenant_id, code, name, lead_time_days) VALUES ($1, 'S', 'S', 9) RETURNING id",
            tenant.id,
        )
        orders = []
        for status in ("received", "issued", "cancelled"):
            orders.append(
                await conn.fetchval(
                    "INSERT INTO app.purchase_orders (tenant_id, supplier_id, warehouse_id, currency, expected_date, "
                    "status, issued_at) VALUES ($1, $2, $3, 'EUR', $4, 'draft', $5) RETURNING id",
                    tenant.id,
                    supplier,
                    tenant.warehouses[0],
                    date(2025, 1, 15),
                    ISSUED,
                )
            )
            if status != "draft":
                await conn.execute("UPDATE app.purchase_orders SET status = 'issued' WHERE id = $1", orders[-1])
            if status in ("received", "cancelled"):
                await conn.execute("UPDATE app.purchase_orders SET status = $2 WHERE id = $1", orders[-1], status)
        for days in (8, 12):  # a partial receipt, then the rest
            await conn.execute(
                "INSERT INTO app.purchase_receipts (tenant_id, purchase_order_id, received_at) VALUES ($1, $2, $3)",
                tenant.id,
                orders[0],
                ISSUED + timedelta(days=days),
            )
    found = await as_planner(database, tenant, lambda c: supplier_history(c, supplier, now=ISSUED + timedelta(days=30)))
    assert found.nominal_lead_time_days == 9
    assert found.received["purchase_order_id"].tolist() == [str(orders[0])]
    assert found.received["first_received_at"].iloc[0] == ISSUED + timedelta(days=8)
    assert found.open_orders["purchase_order_id"].tolist() == [str(orders[1])]
    assert await as_planner(database, tenant, lambda c: supplier_history(c, uuid.uuid4())) is None


async def test_supplier_history_leaves_out_a_receipt_dated_ahead_of_the_clock(database, make_tenant, owner_pool):
    tenant, supplier = await tenant_with_supplier(make_tenant, owner_pool)
    async with owner_pool.acquire() as conn:
        order = await conn.fetchval(
            "INSERT INTO app.purchase_orders (tenant_id, supplier_id, warehouse_id, currency, status, issued_at) "
            "VALUES ($1, $2, $3, 'EUR', 'issued', $4) RETURNING id",
            tenant.id,
            supplier,
            tenant.warehouses[0],
            ISSUED,
        )
        # Past what pandas' timestamps keep (2262): before, the supplier's lead-time answer failed on it.
        await conn.execute(
            "INSERT INTO app.purchase_receipts (tenant_id, purchase_order_id, received_at) VALUES ($1, $2, $3)",
            tenant.id,
            order,
            datetime(2300, 1, 1, tzinfo=UTC),
        )
    found = await as_planner(database, tenant, lambda c: supplier_history(c, supplier, now=ISSUED + timedelta(days=30)))
    assert found.received.empty
    assert found.open_orders["purchase_order_id"].tolist() == [str(order)]


async def erp_order(conn, tenant, supplier, issued: datetime, status: str, erp_received_at: datetime | None):
    """An order of 10 of product 0 to warehouse 0 that an ERP sync wrote: its received quantity and the sync's stamp
    on the line (as its first and last receipt), no receipt row of Chainsight's."""
    order = await conn.fetchval(
        "INSERT INTO app.purchase_orders (tenant_id, supplier_id, warehouse_id, currency, status, issued_at, "
        "expected_date, origin) VALUES ($1, $2, $3, 'EUR', 'issued', $4, $5, 'erp:odoo') RETURNING id",
        tenant.id, supplier, tenant.warehouses[0], issued, (issued + timedelta(days=10)).date(),
    )  # fmt: skip
    received = {"received": 10, "partially_received": 4}.get(status, 0)
    await conn.execute(
        "INSERT INTO app.purchase_order_lines (tenant_id, purchase_order_id, line_no, product_id, quantity, uom, "
        "uom_factor, quantity_base, unit_price, received_base, erp_received_at, erp_first_received_at) "
        "VALUES ($1, $2, 1, $3, 10, 'each', 1, 10, 1, $4, $5, $5)",
        tenant.id, order, tenant.products[0], received, erp_received_at,
    )  # fmt: skip
    if status != "issued":
        await conn.execute("UPDATE app.purchase_orders SET status = $2 WHERE id = $1", order, status)
    return str(order)


async def test_an_order_an_erp_received_is_received_when_the_sync_saw_it(database, make_tenant, owner_pool):
    # Before, only receipt rows counted: 30 ERP-received orders were neither received nor open, "no receipts yet".
    tenant, supplier = await tenant_with_supplier(make_tenant, owner_pool)
    async with owner_pool.acquire() as conn:
        synced = await erp_order(conn, tenant, supplier, ISSUED, "received", ISSUED + timedelta(days=6))
        partly = await erp_order(conn, tenant, supplier, ISSUED, "partially_received", ISSUED + timedelta(days=4))
        both = await erp_order(conn, tenant, supplier, ISSUED, "received", ISSUED + timedelta(days=9))
        await conn.execute(
            "INSERT INTO app.purchase_receipts (tenant_id, purchase_order_id, received_at) VALUES ($1, $2, $3)",
            tenant.id, uuid.UUID(both), ISSUED + timedelta(days=7),
        )  # fmt: skip
        await erp_order(conn, tenant, supplier, ISSUED, "received", None)  # received before any sync saw it
    found = await as_planner(database, tenant, lambda c: supplier_history(c, supplier, now=ISSUED + timedelta(days=30)))
    first = dict(zip(found.received["purchase_order_id"], found.received["first_received_at"], strict=True))
    assert first == {
        synced: ISSUED + timedelta(days=6),
        partly: ISSUED + timedelta(days=4),
        both: ISSUED + timedelta(days=7),
    }
    assert found.open_orders.empty


async def test_a_partially_received_order_without_a_receipt_date_is_open(database, make_tenant, owner_pool):
    # An ERP's partial receipt stamped after the as-of moment is not known then: the order is still coming.
    tenant, supplier = await tenant_with_supplier(make_tenant, owner_pool)
    async with owner_pool.acquire() as conn:
        unstamped = await erp_order(conn, tenant, supplier, ISSUED, "partially_received", None)
        later = await erp_order(conn, tenant, supplier, ISSUED, "partially_received", ISSUED + timedelta(days=60))
    found = await as_planner(database, tenant, lambda c: supplier_history(c, supplier, now=ISSUED + timedelta(days=30)))
    assert found.received.empty
    undated = dict(zip(found.open_orders["purchase_order_id"], found.open_orders["received_undated"], strict=True))
    # The unstamped one came partly received at a date no one knows (an ERP's, before any sync saw it).
    assert undated == {unstamped: True, later: False}


async def test_supplier_history_reads_the_orders_to_one_warehouse_or_of_one_product(database, make_tenant, owner_pool):
    tenant, supplier = await tenant_with_supplier(make_tenant, owner_pool)
    (w0, w1), (p0, p1) = tenant.warehouses, tenant.products
    async with owner_pool.acquire() as conn:
        orders = {}
        for warehouse, product in ((w0, p0), (w1, p1), (w0, p1)):
            orders[warehouse, product] = str(
                await conn.fetchval(
                    "INSERT INTO app.purchase_orders (tenant_id, supplier_id, warehouse_id, currency, status, "
                    "issued_at) VALUES ($1, $2, $3, 'EUR', 'issued', $4) RETURNING id",
                    tenant.id, supplier, warehouse, ISSUED,
                )
            )  # fmt: skip
            await conn.execute(
                "INSERT INTO app.purchase_order_lines (tenant_id, purchase_order_id, line_no, product_id, quantity, "
                "uom, uom_factor, quantity_base, unit_price) VALUES ($1, $2, 1, $3, 10, 'each', 1, 10, 1)",
                tenant.id, uuid.UUID(orders[warehouse, product]), product,
            )  # fmt: skip

    async def read(**scope):
        now = ISSUED + timedelta(days=3)
        found = await as_planner(database, tenant, lambda c: supplier_history(c, supplier, now=now, **scope))
        return sorted(found.open_orders["purchase_order_id"])

    assert await read(warehouse_id=w0) == sorted([orders[w0, p0], orders[w0, p1]])
    assert await read(product_id=p1) == sorted([orders[w1, p1], orders[w0, p1]])
    assert await read(warehouse_id=w0, product_id=p1) == [orders[w0, p1]]
    assert len(await read()) == 3


async def test_a_products_own_orders_to_a_warehouse_serve_once_they_hold_ten_receipts(
    database, make_tenant, owner_pool
):
    tenant, supplier = await tenant_with_supplier(make_tenant, owner_pool)
    async with owner_pool.acquire() as conn:
        for _ in range(10):  # product 0 to warehouse 0, received in 6 days (the ERP's stamp)
            await erp_order(conn, tenant, supplier, ISSUED, "received", ISSUED + timedelta(days=6))
        await conn.execute(  # another product's order to the same warehouse, received in 2 days
            "INSERT INTO app.purchase_orders (tenant_id, supplier_id, warehouse_id, currency, status, issued_at) "
            "VALUES ($1, $2, $3, 'EUR', 'received', $4)",
            tenant.id, supplier, tenant.warehouses[0], ISSUED - timedelta(days=2),
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO app.purchase_receipts (tenant_id, purchase_order_id, received_at) SELECT $1, id, $2 "
            "FROM app.purchase_orders WHERE supplier_id = $3 AND issued_at = $4",
            tenant.id, ISSUED, supplier, ISSUED - timedelta(days=2),
        )  # fmt: skip
    p, w, now = tenant.products[0], tenant.warehouses[0], ISSUED + timedelta(days=30)
    own = await as_planner(
        database, tenant, lambda c: scoped_supplier_history(c, supplier, warehouse_id=w, product_id=p, now=now)
    )
    assert (len(own.received), own.scope) == (10, "this product's orders to this warehouse")
    other = await as_planner(
        database, tenant, lambda c: scoped_supplier_history(c, supplier, product_id=tenant.products[1], now=now)
    )
    assert len(other.received) == 11
    assert other.scope == (
        "all the supplier's orders, every warehouse and product: fewer than 10 receipts in this product's orders"
    )


async def test_an_open_order_to_a_warehouse_without_a_zone_is_late_on_the_readers_date(
    database, make_tenant, owner_pool
):
    # As the order book counts it. Due 2025-01-15; at 12:00 UTC on the 15th it is already the 16th at UTC+14.
    tenant, supplier = await tenant_with_supplier(make_tenant, owner_pool)
    async with owner_pool.acquire() as conn:
        for warehouse in tenant.warehouses[:2]:
            await conn.execute(
                "INSERT INTO app.purchase_orders (tenant_id, supplier_id, warehouse_id, currency, status, issued_at, "
                "expected_date) VALUES ($1, $2, $3, 'EUR', 'issued', $4, '2025-01-15')",
                tenant.id, supplier, warehouse, ISSUED,
            )  # fmt: skip
    await set_time_zone(owner_pool, tenant.warehouses[1], "America/Los_Angeles")
    now = datetime(2025, 1, 15, 12, tzinfo=UTC)
    found = await as_planner(
        database, tenant, lambda c: supplier_history(c, supplier, now=now, reader_zone="Etc/GMT-14")
    )
    assert sorted(found.open_orders["timezone"]) == ["America/Los_Angeles", "Etc/GMT-14"]
    estimate = estimate_lead_time(found.received, nominal_days=10.0)
    zones = dict(zip(found.open_orders["purchase_order_id"], found.open_orders["timezone"], strict=True))
    late = {
        zones[p.purchase_order_id]: p.already_late for p in predict_open_orders(found.open_orders, estimate, now=now)
    }
    assert late == {"Etc/GMT-14": True, "America/Los_Angeles": False}


async def received_line(conn, tenant, order, line_no: int, product, at: datetime) -> None:
    """A line of 10 of ``product`` on ``order`` and Chainsight's receipt of all of it at ``at``."""
    line = await conn.fetchval(
        "INSERT INTO app.purchase_order_lines (tenant_id, purchase_order_id, line_no, product_id, quantity, uom, "
        "uom_factor, quantity_base, unit_price, received_base) VALUES ($1, $2, $3, $4, 10, 'each', 1, 10, 1, 10) "
        "RETURNING id",
        tenant.id, order, line_no, product,
    )  # fmt: skip
    receipt = await conn.fetchval(
        "INSERT INTO app.purchase_receipts (tenant_id, purchase_order_id, received_at) VALUES ($1, $2, $3) "
        "RETURNING id",
        tenant.id, order, at,
    )  # fmt: skip
    movement = await conn.fetchval(
        "INSERT INTO app.stock_movements (tenant_id, product_id, warehouse_id, movement_type, quantity) "
        "VALUES ($1, $2, $3, 'receipt', 10) RETURNING id",
        tenant.id, product, tenant.warehouses[0],
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO app.purchase_receipt_lines (tenant_id, receipt_id, purchase_order_line_id, quantity, "
        "quantity_base, movement_id) VALUES ($1, $2, $3, 10, 10, $4)",
        tenant.id, receipt, line, movement,
    )  # fmt: skip


async def test_a_products_orders_are_dated_by_its_own_lines_receipts(database, make_tenant, owner_pool):
    # Before, an order's first receipt of any line dated it: product 0's 30 days read 2 (product 1's), and an order
    # whose line of product 0 was still to come counted as received.
    tenant, supplier = await tenant_with_supplier(make_tenant, owner_pool)
    (p0, p1), w0 = tenant.products, tenant.warehouses[0]
    async with owner_pool.acquire() as conn:
        for _ in range(10):
            order = await conn.fetchval(
                "INSERT INTO app.purchase_orders (tenant_id, supplier_id, warehouse_id, currency, status, issued_at) "
                "VALUES ($1, $2, $3, 'EUR', 'issued', $4) RETURNING id",
                tenant.id, supplier, w0, ISSUED,
            )  # fmt: skip
            await received_line(conn, tenant, order, 1, p0, ISSUED + timedelta(days=30))
            await received_line(conn, tenant, order, 2, p1, ISSUED + timedelta(days=2))
        waiting = await erp_order(conn, tenant, supplier, ISSUED, "issued", None)  # product 0, nothing received
        await conn.execute(  # its line of product 1 came in 2 days, by an ERP
            "INSERT INTO app.purchase_order_lines (tenant_id, purchase_order_id, line_no, product_id, quantity, uom, "
            "uom_factor, quantity_base, unit_price, received_base, erp_first_received_at) "
            "VALUES ($1, $2, 2, $3, 10, 'each', 1, 10, 1, 10, $4)",
            tenant.id, uuid.UUID(waiting), p1, ISSUED + timedelta(days=2),
        )  # fmt: skip
        await conn.execute("UPDATE app.purchase_orders SET status = 'partially_received' WHERE id = $1", waiting)
    now = ISSUED + timedelta(days=60)
    own = await as_planner(
        database, tenant, lambda c: scoped_supplier_history(c, supplier, warehouse_id=w0, product_id=p0, now=now)
    )
    assert own.scope == "this product's orders to this warehouse"
    assert set(own.received["first_received_at"]) == {ISSUED + timedelta(days=30)}
    assert own.open_orders["purchase_order_id"].tolist() == [waiting]
    assert estimate_lead_time(own.received).mean_days == 30
