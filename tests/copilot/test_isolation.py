"""Copilot tables under row-level security, queried with no filter at all (as in tests/common)."""

from __future__ import annotations

import asyncpg
import pytest

from copilot import conversations
from tests.copilot.conftest import as_user

TABLES = [
    "copilot_documents",
    "copilot_chunks",
    "copilot_conversations",
    "copilot_messages",
    "copilot_feedback",
    "copilot_requests",
]
PRIVATE = {"copilot_conversations", "copilot_messages", "copilot_feedback", "copilot_requests"}


async def arrange(database, tenant, upload, user) -> None:
    await upload(tenant, "notes.md", "# Notes\nDock 3 closes at noon.\n")

    async def op(tx):
        conversation = await conversations.start(tx.conn, tx.tenant_id, "Dock hours")
        answer = await conversations.add_message(tx.conn, tx.tenant_id, conversation["id"], "assistant", "Noon.")
        await conversations.give_feedback(tx.conn, tx.tenant_id, answer["id"], 1, None)
        await conversations.admit_llm_request(tx.conn, tx.tenant_id, 5)

    await as_user(database, tenant, user)(op)


@pytest.mark.parametrize("table", TABLES)
async def test_unfiltered_select_returns_only_the_callers_tenant_and_own_threads(database, make_tenant, upload, table):
    mine, theirs = await make_tenant(), await make_tenant()
    await arrange(database, mine, upload, mine.planner)
    await arrange(database, mine, upload, mine.admin)
    await arrange(database, theirs, upload, theirs.planner)
    rows = await as_user(database, mine, mine.planner)(lambda tx: tx.conn.fetch(f"SELECT * FROM app.{table}"))
    assert rows and {r["tenant_id"] for r in rows} == {mine.id}
    if table in PRIVATE:
        assert {r["user_id"] for r in rows} == {mine.planner}


async def test_a_conversation_cannot_be_created_for_another_user(database, make_tenant):
    tenant = await make_tenant()

    async def forge(tx):
        await tx.conn.execute(
            "INSERT INTO app.copilot_conversations (tenant_id, user_id, title) VALUES ($1, $2, 'x')",
            tx.tenant_id,
            tenant.admin,
        )

    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_user(database, tenant, tenant.planner)(forge)
