"""Writing an ERP order's lines onto the order here (integrations.order_lines), against the real schema."""

from __future__ import annotations

from integrations.order_lines import write_lines


def erp_line(product, received: int) -> dict:
    """Line 1 of an ERP order: 10 of ``product``, ``received`` of them received in the ERP."""
    return {
        "line_no": 1, "product_id": product, "quantity": 10, "uom": "each", "uom_factor": 1, "quantity_base": 10,
        "unit_price": 1, "received_base": received, "cancelled_base": 0,
    }  # fmt: skip


async def stamps(owner_pool, tenant, received_by_sync: list[int]):
    """The line's (erp_first_received_at, erp_received_at) after syncs that read these received quantities."""
    async with owner_pool.acquire() as conn:
        supplier = await conn.fetchval(
            "INSERT INTO app.suppliers (tenant_id, code, name) VALUES ($1, 'S', 'S') RETURNING id", tenant.id
        )
        order = await conn.fetchval(
            "INSERT INTO app.purchase_orders (tenant_id, supplier_id, warehouse_id, currency, status, issued_at, "
            "origin) VALUES ($1, $2, $3, 'EUR', 'issued', now(), 'erp:odoo') RETURNING id",
            tenant.id, supplier, tenant.warehouses[0],
        )  # fmt: skip
        for received in received_by_sync:
            await write_lines(conn, tenant.id, order, [erp_line(tenant.products[0], received)], [True])
        return tuple(
            await conn.fetchrow(
                "SELECT erp_first_received_at, erp_received_at FROM app.purchase_order_lines "
                "WHERE purchase_order_id = $1",
                order,
            )
        )


async def test_a_line_that_came_partly_received_has_no_first_receipt_date_when_it_grows(
    database, make_tenant, owner_pool
):
    # Before, the sync that found 4 grown to 10 stamped its own time as the first receipt: a lead time of the order's
    # whole age, though the 4 came at a date no one knows.
    first, last = await stamps(owner_pool, await make_tenant(), [4, 10])
    assert first is None
    assert last is not None


async def test_a_sync_that_finds_a_lines_first_receipt_stamps_it(database, make_tenant, owner_pool):
    first, last = await stamps(owner_pool, await make_tenant(), [0, 4, 10])
    assert first is not None
    assert last >= first
