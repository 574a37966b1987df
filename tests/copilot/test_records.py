from __future__ import annotations

import uuid

import asyncpg
import pytest

from common.errors import NotFoundError
from copilot import conversations, records
from inventory.listing import ListQuery
from tests.copilot.conftest import as_user


async def test_a_row_is_read_by_id_with_the_columns_asked_for(database, make_tenant):
    run = as_user(database, await make_tenant())
    started = await run(lambda tx: conversations.start(tx.conn, tx.tenant_id, "Stock question"))
    row = await run(
        lambda tx: records.get_by_id(tx.conn, "copilot_conversations", "id, title", started["id"], what="conversation")
    )
    assert row == {"id": started["id"], "title": "Stock question"}


async def another_transaction_can_lock_it_meanwhile(database, make_tenant, owner_pool, *, lock: bool) -> bool:
    """Whether another transaction can take the row while the caller's, having read it, is still open."""
    run = as_user(database, await make_tenant())
    started = await run(lambda tx: conversations.start(tx.conn, tx.tenant_id, "Stock question"))

    async def read_then_try_to_take_it(tx):
        await records.get_by_id(tx.conn, "copilot_conversations", "id", started["id"], what="conversation", lock=lock)
        async with owner_pool.acquire() as other:
            sql = "SELECT id FROM app.copilot_conversations WHERE id = $1 FOR UPDATE NOWAIT"
            try:
                return await other.fetchval(sql, started["id"]) == started["id"]
            except asyncpg.LockNotAvailableError:
                return False

    return await run(read_then_try_to_take_it)


async def test_a_row_read_with_lock_cannot_be_taken_by_another_transaction_meanwhile(database, make_tenant, owner_pool):
    assert not await another_transaction_can_lock_it_meanwhile(database, make_tenant, owner_pool, lock=True)


async def test_a_row_read_without_lock_can_be_taken_by_another_transaction(database, make_tenant, owner_pool):
    assert await another_transaction_can_lock_it_meanwhile(database, make_tenant, owner_pool, lock=False)


async def test_a_missing_row_is_unknown_by_its_kind_when_read_or_deleted(database, make_tenant):
    run = as_user(database, await make_tenant())
    missing = uuid.uuid4()
    with pytest.raises(NotFoundError, match=f"conversation {missing} not found") as read:
        await run(lambda tx: records.get_by_id(tx.conn, "copilot_conversations", "id", missing, what="conversation"))
    with pytest.raises(NotFoundError, match=f"conversation {missing} not found") as deleted:
        await run(lambda tx: records.delete_by_id(tx.conn, "copilot_conversations", missing, what="conversation"))
    assert read.value.code == deleted.value.code == "unknown_conversation"


async def test_a_deleted_row_is_gone(database, make_tenant):
    run = as_user(database, await make_tenant())
    started = await run(lambda tx: conversations.start(tx.conn, tx.tenant_id, "Stock question"))
    await run(lambda tx: records.delete_by_id(tx.conn, "copilot_conversations", started["id"], what="conversation"))
    assert (await run(lambda tx: conversations.list_conversations(tx.conn, ListQuery(limit=50)))).items == []
