"""Expired reservations give their stock back: at read time, on the next write, and by the release job."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from common.database import TenantTransaction
from common.errors import ConflictError, ExpiredValueError
from inventory import events, reservations, stock
from inventory.listing import ListQuery
from inventory.schemas import IssueCreate, ReservationCreate


def hold(tenant, quantity: int, expires_in: timedelta | None = timedelta(hours=1)) -> ReservationCreate:
    expires_at = datetime.now(UTC) + expires_in if expires_in is not None else None
    return ReservationCreate(
        product_id=tenant.products[0], warehouse_id=tenant.warehouses[0], quantity=quantity, expires_at=expires_at
    )


async def reserve(database, tenant, request: ReservationCreate) -> dict:
    async def op(tx: TenantTransaction) -> dict:
        return await reservations.create_reservation(tx.conn, tx.tenant_id, tx.user_id, request)

    return await database.run(tenant.claims(), None, op)


async def expire(owner_pool, reservation_id) -> None:
    """Move a hold's expiry into the past (as time passing would)."""
    await owner_pool.execute(
        "UPDATE app.reservations SET expires_at = now() - interval '1 minute' WHERE id = $1", reservation_id
    )


async def level(database, tenant, user=None) -> dict:
    async def op(tx: TenantTransaction) -> dict:
        return await stock.get_level(tx.conn, tenant.products[0], tenant.warehouses[0])

    return await database.run(tenant.claims(user), None, op)


async def table_level(owner_pool, tenant) -> tuple[Decimal, Decimal]:
    row = await owner_pool.fetchrow(
        "SELECT on_hand, reserved FROM app.stock_levels WHERE product_id = $1 AND warehouse_id = $2",
        tenant.products[0],
        tenant.warehouses[0],
    )
    return row["on_hand"], row["reserved"]


async def test_a_hold_that_expires_in_the_past_is_refused_and_holds_nothing(database, make_tenant, owner_pool):
    tenant = await make_tenant(stock={0: Decimal(5)})
    with pytest.raises(ExpiredValueError, match="expires_at must be in the future"):
        await reserve(database, tenant, hold(tenant, 5, expires_in=-timedelta(seconds=1)))
    assert (await level(database, tenant))["reserved"] == 0


def test_a_hold_time_without_an_offset_is_utc():
    naive = datetime(2030, 1, 1, 12, 0)
    request = ReservationCreate(product_id=uuid.uuid4(), warehouse_id=uuid.uuid4(), quantity=1, expires_at=naive)
    assert request.expires_at == naive.replace(tzinfo=UTC)


async def test_an_expired_hold_no_longer_counts_against_available_when_read(database, make_tenant, owner_pool):
    tenant = await make_tenant(stock={0: Decimal(10)})
    expiring = await reserve(database, tenant, hold(tenant, 6))
    await reserve(database, tenant, hold(tenant, 1, expires_in=None))
    assert (await level(database, tenant))["available"] == 3
    await expire(owner_pool, expiring["id"])
    seen = await level(database, tenant, tenant.viewer)  # a read-only caller sees it too
    assert (seen["reserved"], seen["available"]) == (1, 9)


async def test_the_next_reservation_takes_stock_an_expired_hold_blocked(database, make_tenant, owner_pool):
    tenant = await make_tenant(stock={0: Decimal(10)})
    expiring = await reserve(database, tenant, hold(tenant, 10))
    await expire(owner_pool, expiring["id"])
    await reserve(database, tenant, hold(tenant, 8))
    assert await table_level(owner_pool, tenant) == (10, 8)
    status = await owner_pool.fetchval("SELECT status FROM app.reservations WHERE id = $1", expiring["id"])
    assert status == "expired"


async def test_an_issue_takes_stock_an_expired_hold_blocked(database, make_tenant, owner_pool):
    # Before, the level said 10 available and the issue of 8 was refused with "only 0 available".
    tenant = await make_tenant(stock={0: Decimal(10)})
    expiring = await reserve(database, tenant, hold(tenant, 10))
    await expire(owner_pool, expiring["id"])
    assert (await level(database, tenant))["available"] == 10
    issue = IssueCreate(type="issue", product_id=tenant.products[0], warehouse_id=tenant.warehouses[0], quantity=8)
    await database.run(
        tenant.claims(), None, lambda tx: stock.record_movement(tx.conn, tx.tenant_id, tx.user_id, issue)
    )
    assert await table_level(owner_pool, tenant) == (2, 0)


async def test_a_hold_past_its_expiry_reads_as_expired_before_the_job_records_it(database, make_tenant, owner_pool):
    tenant = await make_tenant(stock={0: Decimal(10)})
    expiring = await reserve(database, tenant, hold(tenant, 4))
    kept = await reserve(database, tenant, hold(tenant, 1, expires_in=None))
    await expire(owner_pool, expiring["id"])

    async def listed(status: str) -> list:
        async def op(tx: TenantTransaction):
            page = await reservations.list_reservations(tx.conn, ListQuery(limit=10, filters={"status": status}))
            return [r["id"] for r in page.items]

        return await database.run(tenant.claims(), None, op)

    assert await listed("active") == [kept["id"]]
    assert await listed("expired") == [expiring["id"]]
    one = await database.run(tenant.claims(), None, lambda tx: reservations.get_reservation(tx.conn, expiring["id"]))
    assert one["status"] == "expired"
    assert await owner_pool.fetchval("SELECT status FROM app.reservations WHERE id = $1", expiring["id"]) == "active"


async def test_the_stock_event_names_the_available_stock_the_api_reads(database, make_tenant, owner_pool):
    # 10 on hand, a hold of 4 past its expiry, then a receipt of 5: GET says available 15; the event said 11.
    tenant = await make_tenant(stock={0: Decimal(10)})
    expired = await reserve(database, tenant, hold(tenant, 4))
    await expire(owner_pool, expired["id"])
    received: asyncio.Queue[dict] = asyncio.Queue()
    async with owner_pool.acquire() as listener:

        def collect(*args: object) -> None:
            received.put_nowait(json.loads(str(args[3])))

        await listener.add_listener(events.CHANNEL, collect)
        await owner_pool.execute(
            "INSERT INTO app.stock_movements (tenant_id, product_id, warehouse_id, movement_type, quantity) "
            "VALUES ($1, $2, $3, 'receipt', 5)",
            tenant.id, tenant.products[0], tenant.warehouses[0],
        )  # fmt: skip
        event: dict = {}
        while event.get("tenant_id") != str(tenant.id) or event.get("type") != "stock.changed":
            event = await asyncio.wait_for(received.get(), timeout=5)
        await listener.remove_listener(events.CHANNEL, collect)
    (announced,) = event["data"]["levels"]
    assert announced["available"] == float((await level(database, tenant))["available"]) == 15


async def test_release_job_releases_each_expired_hold_once_and_leaves_the_ledger(database, make_tenant, owner_pool):
    tenant = await make_tenant(stock={0: Decimal(10)})
    first = await reserve(database, tenant, hold(tenant, 3))
    second = await reserve(database, tenant, hold(tenant, 4))
    kept = await reserve(database, tenant, hold(tenant, 2))
    for reservation in (first, second):
        await expire(owner_pool, reservation["id"])
    async with owner_pool.acquire() as conn:  # the job's service connection: every tenant
        assert await stock.release_expired(conn) >= 2
        assert await stock.release_expired(conn, tenant.products[0], tenant.warehouses[0]) == 0
    on_hand, reserved = await table_level(owner_pool, tenant)
    ledger = await owner_pool.fetchval(
        "SELECT sum(quantity) FROM app.stock_movements WHERE product_id = $1 AND warehouse_id = $2",
        tenant.products[0],
        tenant.warehouses[0],
    )
    assert (on_hand, reserved, ledger) == (10, kept["quantity"], 10)


async def test_an_expired_reservation_cannot_be_fulfilled(database, make_tenant, owner_pool):
    tenant = await make_tenant(stock={0: Decimal(10)})
    expiring = await reserve(database, tenant, hold(tenant, 5))
    await expire(owner_pool, expiring["id"])

    async def fulfil(tx: TenantTransaction) -> dict:
        return await reservations.fulfil_reservation(tx.conn, tx.tenant_id, tx.user_id, expiring["id"])

    with pytest.raises(ConflictError) as refused:
        await database.run(tenant.claims(), None, fulfil)
    assert refused.value.code == "reservation_expired"
    assert await table_level(owner_pool, tenant) == (10, 5)  # nothing issued; the job releases the hold
