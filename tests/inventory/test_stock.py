"""Stock movements and levels through the real tenant transaction (row-level security on)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from uuid import uuid4

import asyncpg
import pytest
from pydantic import TypeAdapter

from common.database import Database, TenantTransaction
from common.errors import ConflictError, InsufficientStockError, InvalidInputError, NotFoundError
from inventory import stock
from inventory.schemas import MovementCreate

MOVEMENT = TypeAdapter(MovementCreate)


def movement(**fields: object) -> MovementCreate:
    return MOVEMENT.validate_python(fields)


async def record(database: Database, tenant, body: dict) -> tuple[list[dict], list[dict]]:
    async def op(tx: TenantTransaction):
        return await stock.record_movement(tx.conn, tx.tenant_id, tx.user_id, movement(**body))

    return await database.run(tenant.claims(), None, op)


async def level(database: Database, tenant, product_index: int = 0, warehouse_index: int = 0) -> dict:
    async def op(tx: TenantTransaction):
        return await stock.get_level(tx.conn, tenant.products[product_index], tenant.warehouses[warehouse_index])

    return await database.run(tenant.claims(), None, op)


async def test_receipt_raises_on_hand_and_writes_one_ledger_row(database, make_tenant):
    tenant = await make_tenant()
    rows, levels = await record(
        database,
        tenant,
        {"type": "receipt", "product_id": tenant.products[0], "warehouse_id": tenant.warehouses[0], "quantity": "12.5"},
    )
    assert [r["quantity"] for r in rows] == [Decimal("12.5")]
    assert levels[0]["on_hand"] == Decimal("12.5")
    assert levels[0]["available"] == Decimal("12.5")


async def test_a_lot_tracked_product_is_not_received_here_without_its_lot(database, make_tenant, owner_pool):
    # Before, the receipt was booked with no lot, which a purchase receipt of the same product refuses.
    tenant = await make_tenant()
    await owner_pool.execute("UPDATE app.products SET lot_tracked = true WHERE id = $1", tenant.products[0])
    body = {"type": "receipt", "product_id": tenant.products[0], "warehouse_id": tenant.warehouses[0], "quantity": 1}
    with pytest.raises(InvalidInputError) as refused:
        await record(database, tenant, body)
    assert refused.value.code == "lot_required"
    assert (await level(database, tenant))["on_hand"] == 0


async def test_a_lot_tracked_receipt_into_an_unknown_warehouse_names_the_warehouse(database, make_tenant, owner_pool):
    # Before, it was refused as lot_required: advice no lot could satisfy.
    tenant = await make_tenant()
    await owner_pool.execute("UPDATE app.products SET lot_tracked = true WHERE id = $1", tenant.products[0])
    body = {"type": "receipt", "product_id": tenant.products[0], "warehouse_id": uuid4(), "quantity": 1}
    with pytest.raises(NotFoundError) as refused:
        await record(database, tenant, body)
    assert refused.value.code == "unknown_warehouse"


async def test_issue_beyond_available_is_refused_with_the_figures(database, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(5)})
    with pytest.raises(InsufficientStockError) as caught:
        await record(
            database,
            tenant,
            {"type": "issue", "product_id": tenant.products[0], "warehouse_id": tenant.warehouses[0], "quantity": 6},
        )
    assert caught.value.details["available"] == 5.0
    assert (await level(database, tenant))["on_hand"] == Decimal(5)


async def test_transfer_moves_stock_between_warehouses_atomically(database, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(10)})
    rows, _ = await record(
        database,
        tenant,
        {
            "type": "transfer",
            "product_id": tenant.products[0],
            "from_warehouse_id": tenant.warehouses[0],
            "to_warehouse_id": tenant.warehouses[1],
            "quantity": 4,
        },
    )
    assert {r["movement_type"] for r in rows} == {"transfer_out", "transfer_in"}
    assert len({r["transfer_id"] for r in rows}) == 1
    assert (await level(database, tenant, 0, 0))["on_hand"] == Decimal(6)
    assert (await level(database, tenant, 0, 1))["on_hand"] == Decimal(4)


async def test_nothing_new_goes_into_a_deactivated_warehouse_but_its_stock_may_leave(database, make_tenant, owner_pool):
    tenant = await make_tenant(stock={0: Decimal(10)})
    async with owner_pool.acquire() as conn:
        await conn.execute("UPDATE app.warehouses SET active = false WHERE id = $1", tenant.warehouses[0])
    p, closed, open_ = tenant.products[0], tenant.warehouses[0], tenant.warehouses[1]
    moved = {"type": "transfer", "product_id": p, "from_warehouse_id": closed, "to_warehouse_id": open_, "quantity": 6}
    await record(database, tenant, moved)
    for body in (
        {"type": "receipt", "product_id": p, "warehouse_id": closed, "quantity": 1},
        {"type": "transfer", "product_id": p, "from_warehouse_id": open_, "to_warehouse_id": closed, "quantity": 1},
    ):
        with pytest.raises(ConflictError, match="warehouse WH-0 is inactive") as refused:
            await record(database, tenant, body)
        assert refused.value.code == "inactive_warehouse"
    counted = {"type": "adjustment", "product_id": p, "warehouse_id": closed, "quantity": 1, "reason": "count"}
    await record(database, tenant, counted)
    assert [(await level(database, tenant, 0, w))["on_hand"] for w in (0, 1)] == [Decimal(5), Decimal(6)]


@pytest.mark.parametrize(
    ("on_hand", "body"),
    [
        pytest.param(
            3, {"type": "transfer", "from_warehouse_id": 0, "to_warehouse_id": 1, "quantity": 4}, id="transfer"
        ),
        pytest.param(
            2,
            {"type": "adjustment", "warehouse_id": 0, "quantity": -3, "reason": "cycle count"},
            id="negative-adjustment",
        ),
    ],
)
async def test_a_movement_that_would_take_stock_below_zero_is_refused_and_moves_nothing(
    database, make_tenant, on_hand, body
):
    tenant = await make_tenant(stock={0: Decimal(on_hand)})
    # Warehouses by index in the case, by id in the request.
    located = {k: tenant.warehouses[v] if k.endswith("warehouse_id") else v for k, v in body.items()}
    with pytest.raises(InsufficientStockError):
        await record(database, tenant, {**located, "product_id": tenant.products[0]})
    assert (await level(database, tenant, 0, 0))["on_hand"] == Decimal(on_hand)
    assert (await level(database, tenant, 0, 1))["on_hand"] == 0


async def test_movement_for_unknown_product_is_not_found(database, make_tenant):
    tenant = await make_tenant()
    other = await make_tenant()
    with pytest.raises(NotFoundError):
        await record(
            database,
            tenant,
            {"type": "receipt", "product_id": other.products[0], "warehouse_id": tenant.warehouses[0], "quantity": 1},
        )


async def test_concurrent_receipts_and_issues_keep_ledger_sum_equal_to_on_hand(database, make_tenant, owner_pool):
    tenant = await make_tenant(stock={0: Decimal(20)})
    target = {"product_id": tenant.products[0], "warehouse_id": tenant.warehouses[0]}

    async def attempt(kind: str, quantity: int) -> bool:
        try:
            await record(database, tenant, {"type": kind, **target, "quantity": quantity})
        except InsufficientStockError:
            return False
        return True

    jobs = [attempt("issue", 3) for _ in range(20)] + [attempt("receipt", 2) for _ in range(20)]
    results = await asyncio.gather(*jobs)
    assert any(results[:20]) and all(results[20:])
    async with owner_pool.acquire() as conn:
        ledger = await conn.fetchval(
            "SELECT sum(quantity) FROM app.stock_movements WHERE product_id = $1 AND warehouse_id = $2",
            tenant.products[0],
            tenant.warehouses[0],
        )
        on_hand = await conn.fetchval(
            "SELECT on_hand FROM app.stock_levels WHERE product_id = $1 AND warehouse_id = $2",
            tenant.products[0],
            tenant.warehouses[0],
        )
    issued = sum(results[:20])
    assert ledger == on_hand == Decimal(20 + 40 - 3 * issued)
    assert on_hand >= 0


async def test_ledger_rows_cannot_be_updated_or_deleted(database, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(1)})

    async def rewrite(tx: TenantTransaction):
        return await tx.conn.execute("UPDATE app.stock_movements SET quantity = 100")

    with pytest.raises(Exception, match=r"permission denied|append-only"):
        await database.run(tenant.claims(), None, rewrite)


async def test_on_hand_cannot_be_updated_outside_the_ledger(database, make_tenant):
    # Before, the request role's UPDATE grant let it set any on_hand: stock no movement accounts for.
    tenant = await make_tenant(stock={0: Decimal(10)})

    async def overwrite(tx: TenantTransaction):
        return await tx.conn.execute("UPDATE app.stock_levels SET on_hand = 1000")

    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="written by the ledger only"):
        await database.run(tenant.claims(), None, overwrite)
    assert (await level(database, tenant))["on_hand"] == Decimal(10)


async def test_a_level_cannot_be_inserted_with_stock_outside_the_ledger(database, make_tenant):
    tenant = await make_tenant()

    async def invent(tx: TenantTransaction):
        return await tx.conn.execute(
            "INSERT INTO app.stock_levels (tenant_id, product_id, warehouse_id, on_hand) VALUES ($1, $2, $3, 555)",
            tx.tenant_id,
            tenant.products[1],
            tenant.warehouses[1],
        )

    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="written by the ledger only"):
        await database.run(tenant.claims(), None, invent)
    assert (await level(database, tenant, product_index=1, warehouse_index=1))["on_hand"] == 0


async def test_a_level_cannot_be_moved_to_another_warehouse_outside_the_ledger(database, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(10)})

    async def relocate(tx: TenantTransaction):
        return await tx.conn.execute("UPDATE app.stock_levels SET warehouse_id = $1", tenant.warehouses[1])

    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="stays on its product and warehouse"):
        await database.run(tenant.claims(), None, relocate)
    assert (await level(database, tenant))["on_hand"] == Decimal(10)
    assert (await level(database, tenant, warehouse_index=1))["on_hand"] == 0
