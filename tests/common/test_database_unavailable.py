"""What Database.run answers when real PostgreSQL cannot serve a request now: 503 database_unavailable, not a 500.

The server's errors are raised in the operation with their SQLSTATE (a lock timeout is a real one), as a server out of
connections, memory or disk, or a deadlock that keeps coming back, would raise them.
"""

from __future__ import annotations

import logging
import uuid

import asyncpg
import pytest

from common.database import lock_until_commit
from common.errors import DatabaseUnavailableError
from deployments.api.errors import status_for


def raising(condition: str, attempts: list[int] | None = None):
    """An operation that fails with PostgreSQL's error ``condition`` (counting its attempts in ``attempts``)."""

    async def operation(tx):
        if attempts is not None:
            attempts.append(1)
        await tx.conn.execute(f"DO $$ BEGIN RAISE EXCEPTION 'test' USING ERRCODE = '{condition}'; END $$")

    return operation


@pytest.mark.parametrize("condition", ["too_many_connections", "out_of_memory", "disk_full"])
async def test_a_server_out_of_resources_is_refused_as_unavailable(database, make_tenant, condition):
    # Before, class 53 left Database.run as it was and the HTTP layer answered it 500 internal_error.
    tenant = await make_tenant()
    with pytest.raises(DatabaseUnavailableError) as refused:
        await database.run(tenant.claims(), tenant.id, raising(condition))
    assert isinstance(refused.value.__cause__, asyncpg.InsufficientResourcesError)
    assert status_for(refused.value) == 503


@pytest.mark.parametrize("condition", ["deadlock_detected", "serialization_failure"])
async def test_a_deadlock_or_serialization_failure_past_the_retries_is_refused_as_unavailable(
    database, make_tenant, condition
):
    tenant = await make_tenant()
    attempts: list[int] = []
    with pytest.raises(DatabaseUnavailableError) as refused:
        await database.run(tenant.claims(), tenant.id, raising(condition, attempts))
    assert len(attempts) == 4  # retried first, as before
    assert isinstance(refused.value.__cause__, asyncpg.TransactionRollbackError)


async def test_a_deadlock_that_clears_on_a_retry_is_answered(database, make_tenant):
    tenant = await make_tenant()
    attempts: list[int] = []

    async def deadlocked_once(tx):
        if not attempts:
            await raising("deadlock_detected", attempts)(tx)
        return await tx.conn.fetchval("SELECT 1")

    assert await database.run(tenant.claims(), tenant.id, deadlocked_once) == 1
    assert len(attempts) == 1


async def test_a_lock_timeout_is_refused_as_unavailable(database, make_tenant, owner_pool):
    tenant = await make_tenant()
    key = f"test-lock-timeout-{uuid.uuid4()}"

    async def wait_for_the_lock(tx):
        await tx.conn.execute("SET LOCAL lock_timeout = '100ms'")
        await lock_until_commit(tx.conn, key)

    async with owner_pool.acquire() as holder:  # another session holds the lock past the timeout
        await holder.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", key)
        try:
            with pytest.raises(DatabaseUnavailableError) as refused:
                await database.run(tenant.claims(), tenant.id, wait_for_the_lock)
        finally:
            await holder.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", key)
    assert isinstance(refused.value.__cause__, asyncpg.LockNotAvailableError)


async def test_the_refusal_logs_what_the_server_said(database, make_tenant, caplog):
    tenant = await make_tenant()
    with caplog.at_level(logging.WARNING, logger="common.database"), pytest.raises(DatabaseUnavailableError):
        await database.run(tenant.claims(), tenant.id, raising("too_many_connections"))
    assert "TooManyConnectionsError" in caplog.text


@pytest.mark.parametrize(
    ("condition", "error"),
    [("unique_violation", asyncpg.UniqueViolationError), ("undefined_table", asyncpg.UndefinedTableError)],
    ids=["class-23", "class-42"],
)
async def test_an_integrity_or_statement_error_is_not_refused_as_unavailable(database, make_tenant, condition, error):
    tenant = await make_tenant()
    with pytest.raises(error):
        await database.run(tenant.claims(), tenant.id, raising(condition))


async def test_the_retries_of_a_deadlock_wait_a_spread_of_times(database, make_tenant, monkeypatch):
    # Until 2026-12-07 every retry waited exactly 20, 40, 80 ms: the transactions that deadlocked came back in step
    # and deadlocked again until the attempts ran out (503s under concurrent receipts).
    tenant = await make_tenant()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr("common.database.asyncio.sleep", sleep)
    for _ in range(3):
        with pytest.raises(DatabaseUnavailableError):
            await database.run(tenant.claims(), tenant.id, raising("deadlock_detected"))
    assert len(waits) == 9
    for attempt, wait in zip([1, 2, 3] * 3, waits, strict=True):
        assert 0.01 * 2**attempt * 0.5 <= wait <= 0.01 * 2**attempt * 1.5
    assert len(set(waits[::3])) > 1  # the first retries of three runs did not all wait the same
