"""Reservations hold available stock and never promise the same units twice."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from common.database import Database, TenantTransaction
from common.errors import ConflictError, InsufficientStockError
from inventory import reservations, stock
from inventory.schemas import ReservationCreate


async def reserve(database: Database, tenant, quantity: int) -> dict:
    request = ReservationCreate(product_id=tenant.products[0], warehouse_id=tenant.warehouses[0], quantity=quantity)

    async def op(tx: TenantTransaction):
        return await reservations.create_reservation(tx.conn, tx.tenant_id, tx.user_id, request)

    return await database.run(tenant.claims(), None, op)


async def release(database: Database, tenant, reservation_id) -> dict:
    async def op(tx: TenantTransaction):
        return await reservations.release_reservation(tx.conn, reservation_id)

    return await database.run(tenant.claims(), None, op)


async def current_level(database: Database, tenant) -> dict:
    async def op(tx: TenantTransaction):
        return await stock.get_level(tx.conn, tenant.products[0], tenant.warehouses[0])

    return await database.run(tenant.claims(), None, op)


async def test_fifty_parallel_reservations_against_ten_units_succeed_exactly_ten_times(database, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(10)})

    async def attempt() -> bool:
        try:
            await reserve(database, tenant, 1)
        except InsufficientStockError:
            return False
        return True

    results = await asyncio.gather(*(attempt() for _ in range(50)))
    assert sum(results) == 10
    level = await current_level(database, tenant)
    assert (level["reserved"], level["available"]) == (Decimal(10), Decimal(0))


async def test_release_returns_the_held_stock(database, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(8)})
    held = await reserve(database, tenant, 5)
    released = await release(database, tenant, held["id"])
    assert released["status"] == "released"
    assert (await current_level(database, tenant))["available"] == Decimal(8)


async def test_fulfil_issues_the_reserved_quantity_from_the_ledger(database, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(8)})
    held = await reserve(database, tenant, 5)

    async def fulfil(tx: TenantTransaction):
        return await reservations.fulfil_reservation(tx.conn, tx.tenant_id, tx.user_id, held["id"])

    await database.run(tenant.claims(), None, fulfil)
    level = await current_level(database, tenant)
    assert (level["on_hand"], level["reserved"]) == (Decimal(3), Decimal(0))


async def test_a_closed_reservation_cannot_be_released_again(database, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(8)})
    held = await reserve(database, tenant, 2)
    await release(database, tenant, held["id"])
    with pytest.raises(ConflictError, match="released"):
        await release(database, tenant, held["id"])
    assert (await current_level(database, tenant))["reserved"] == 0


async def test_reserved_stock_cannot_be_issued(database, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(4)})
    await reserve(database, tenant, 3)
    from pydantic import TypeAdapter

    from inventory.schemas import MovementCreate

    issue = TypeAdapter(MovementCreate).validate_python(
        {"type": "issue", "product_id": tenant.products[0], "warehouse_id": tenant.warehouses[0], "quantity": 2}
    )

    async def op(tx: TenantTransaction):
        return await stock.record_movement(tx.conn, tx.tenant_id, tx.user_id, issue)

    with pytest.raises(InsufficientStockError, match=r"3\.0000 reserved"):
        await database.run(tenant.claims(), None, op)
