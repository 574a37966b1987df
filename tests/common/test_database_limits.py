"""The pool's limits against a real PostgreSQL: a bounded wait for a connection, idle transactions ended."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from common.database import Database, create_pool
from common.errors import PoolExhaustedError
from deployments.api.errors import status_for


async def test_request_waiting_past_the_acquire_timeout_is_refused_as_busy(settings, make_tenant):
    tenant = await make_tenant()
    pool = await create_pool(settings.model_copy(update={"database_pool_min_size": 1, "database_pool_max_size": 1}))
    database = Database(pool, acquire_timeout_s=0.2)
    try:
        async with pool.acquire():  # the only connection, held as a slow request would hold it
            with pytest.raises(PoolExhaustedError) as refused:
                await database.run(tenant.claims(), tenant.id, lambda tx: tx.conn.fetchval("SELECT 1"))
        assert status_for(refused.value) == 503
        assert await database.run(tenant.claims(), tenant.id, lambda tx: tx.conn.fetchval("SELECT 1")) == 1
    finally:
        await pool.close()


async def test_a_transaction_left_idle_is_ended_by_the_server(settings):
    pool = await create_pool(settings.model_copy(update={"database_idle_in_transaction_timeout_ms": 300}))
    try:
        async with pool.acquire() as conn:
            assert await conn.fetchval("SHOW idle_in_transaction_session_timeout") == "300ms"
            transaction = conn.transaction()
            await transaction.start()
            await asyncio.sleep(1.0)
            # The server closed the session: asyncpg reports it as timed out, gone, or released from the pool.
            with pytest.raises((asyncpg.IdleInTransactionSessionTimeoutError, asyncpg.InterfaceError)):
                await conn.fetchval("SELECT 1")
    finally:
        pool.terminate()
