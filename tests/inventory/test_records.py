"""A write that refers to a missing row is named from the violated foreign key (inventory.records)."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from inventory.records import unknown_reference


async def violation(owner_pool: asyncpg.Pool, constraint: str) -> asyncpg.ForeignKeyViolationError:
    """A real foreign-key violation of a throwaway table whose key is named ``constraint``."""
    async with owner_pool.acquire() as conn, conn.transaction():
        await conn.execute("CREATE TEMP TABLE parents (id uuid PRIMARY KEY) ON COMMIT DROP")
        await conn.execute(
            f"CREATE TEMP TABLE children (parent uuid, CONSTRAINT {constraint} FOREIGN KEY (parent) "
            "REFERENCES parents (id)) ON COMMIT DROP"
        )
        with pytest.raises(asyncpg.ForeignKeyViolationError) as caught:
            await conn.execute("INSERT INTO children VALUES ($1)", uuid.uuid4())
    return caught.value


async def test_the_kind_whose_id_column_names_the_constraint_is_the_one_reported(owner_pool):
    product, warehouse = uuid.uuid4(), uuid.uuid4()
    exc = await violation(owner_pool, "movements_tenant_id_warehouse_id_fkey")
    error = unknown_reference(exc, {"product": product, "warehouse": warehouse})
    assert (error.code, error.message) == ("unknown_warehouse", f"warehouse {warehouse} not found")


async def test_a_write_of_many_references_names_the_kind_with_its_context(owner_pool):
    exc = await violation(owner_pool, "shipments_purchase_order_id_fkey")
    error = unknown_reference(exc, {"purchase_order": None, "product": None}, context=" on the shipment")
    assert (error.code, error.message) == ("unknown_purchase_order", "unknown purchase order on the shipment")


async def test_a_constraint_no_kind_matches_is_still_a_not_found_naming_the_constraint(owner_pool):
    exc = await violation(owner_pool, "stock_movements_lot_fk")
    error = unknown_reference(exc, {"product": uuid.uuid4()})
    assert error.code == "unknown_reference" and "stock_movements_lot_fk" in error.message
