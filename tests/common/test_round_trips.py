"""How many times a request waits on PostgreSQL, counted on the wire (tests/support/pg_roundtrips.py), and the
session state a request leaves on its pooled connection (none, which is why the pool skips asyncpg's
reset query on release).

Round trips, not timings: a stock-level read and a receipt are the two request shapes the throughput
bench measures; each round trip costs a context switch to the server and back, about as much as the
query itself on one machine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg
import pytest

from common.database import Database, TenantTransaction, create_pool
from inventory import stock
from inventory.schemas import ReceiptCreate
from tests.support.pg_roundtrips import RoundTripCounter

REQUESTS = 20


@pytest.fixture
async def counted(settings) -> AsyncIterator[tuple[Database, RoundTripCounter]]:
    async with RoundTripCounter(settings.database_url) as counter:
        pool = await create_pool(settings.model_copy(update={"database_pool_min_size": 1}), dsn=counter.dsn)
        try:
            yield Database(pool), counter
        finally:
            await pool.close()


async def per_request(database: Database, counter: RoundTripCounter, run) -> float:
    await run()  # the first request on a connection also prepares its statements
    counter.reset()
    for _ in range(REQUESTS):
        await run()
    return counter.total / REQUESTS


async def test_a_stock_level_read_takes_four_round_trips(counted, make_tenant):
    database, counter = counted
    tenant = await make_tenant(stock={0: Decimal(5)})

    async def read() -> None:
        async def op(tx: TenantTransaction) -> dict:
            return await stock.get_level(tx.conn, tenant.products[0], tenant.warehouses[0])

        await database.run(tenant.claims(), tenant.id, op)

    # BEGIN, app.enter_request, the select, COMMIT; nothing on release; statements stay prepared.
    assert await per_request(database, counter, read) == 4
    assert counter.by_kind == {"query": 2 * REQUESTS, "sync": 2 * REQUESTS}


async def test_a_receipt_takes_five_round_trips(counted, make_tenant):
    database, counter = counted
    tenant = await make_tenant()
    receipt = ReceiptCreate(
        type="receipt", product_id=tenant.products[0], warehouse_id=tenant.warehouses[0], quantity=Decimal(1)
    )

    async def write() -> None:
        async def op(tx: TenantTransaction) -> object:
            return await stock.record_movement(tx.conn, tx.tenant_id, tx.user_id, receipt)

        await database.run(tenant.claims(), tenant.id, op)

    # BEGIN, app.enter_request, the insert, the resulting level, COMMIT.
    assert await per_request(database, counter, write) == 5
    assert counter.by_kind == {"query": 2 * REQUESTS, "sync": 3 * REQUESTS}


async def session_state(conn: asyncpg.Connection) -> dict:
    row = await conn.fetchrow(
        """SELECT current_user = session_user AS login_role,
                  coalesce(current_setting('app.tenant_id', true), '') AS tenant,
                  coalesce(current_setting('request.jwt.claims', true), '') AS claims,
                  current_setting('statement_timeout') AS statement_timeout,
                  (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()) AS locks,
                  (SELECT count(*) FROM pg_cursors) AS cursors,
                  (SELECT count(*) FROM pg_listening_channels()) AS listening"""
    )
    return dict(row)


async def test_a_released_connection_keeps_nothing_of_its_request(settings, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(5)})
    pool = await create_pool(settings.model_copy(update={"database_pool_min_size": 1, "database_pool_max_size": 1}))
    database = Database(pool)
    try:
        async with pool.acquire() as conn:
            fresh = await session_state(conn)

        async def op(tx: TenantTransaction) -> None:
            await tx.conn.execute("SELECT pg_advisory_xact_lock(42)")
            await tx.conn.execute("SET LOCAL statement_timeout = 1234")
            async for _ in tx.conn.cursor("SELECT * FROM app.stock_levels"):
                break

        await database.run(tenant.claims(), tenant.id, op)
        # A request abandoned mid-transaction (a cancelled handler) is rolled back on release.
        async with pool.acquire() as conn:
            await conn.execute("BEGIN")
            await conn.fetchrow("SELECT * FROM app.enter_request($1::jsonb, $2::uuid)", tenant.claims(), tenant.id)
        async with pool.acquire() as conn:
            assert not conn.is_in_transaction()
            assert await session_state(conn) == fresh
        assert fresh["login_role"] and fresh["tenant"] == "" and fresh["locks"] == 0
    finally:
        await pool.close()
