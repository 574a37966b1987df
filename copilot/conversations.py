"""Conversations and messages, private to the user who started them (row-level security), and feedback."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from common.errors import NotFoundError, RateLimitedError
from copilot.records import delete_by_id, get_by_id
from inventory.records import one_row, row_or_missing

CONVERSATION_COLUMNS = "id, title, created_at, updated_at"
MESSAGE_COLUMNS = "id, conversation_id, role, content, sources, tool_calls, created_at"


async def check_rate_limit(conn: asyncpg.Connection, tenant_id: UUID, per_minute: int) -> None:
    """Count one question of the caller, refusing it when they asked ``per_minute`` in the last minute (counted
    in the database, so the limit holds across replicas, and apart from their conversations, which they may
    delete)."""
    await _admit(conn, tenant_id, per_minute, "question", "questions")


async def admit_llm_request(conn: asyncpg.Connection, tenant_id: UUID, per_minute: int) -> None:
    """Count one call of the OpenAI-compatible route for the caller, refusing it when they made
    ``per_minute`` in the last minute."""
    await _admit(conn, tenant_id, per_minute, "llm", "model calls")


async def _admit(conn: asyncpg.Connection, tenant_id: UUID, per_minute: int, kind: str, what: str) -> None:
    # Concurrent requests of one user queue here until the first commits, so two cannot both take the last slot.
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1 || app.current_user_id(), 0))", f"copilot-{kind}:"
    )
    await conn.execute("DELETE FROM app.copilot_requests WHERE created_at <= now() - interval '1 minute'")
    row = await conn.fetchrow(f"SELECT {_WINDOW} FROM app.copilot_requests WHERE kind = $1", kind)
    _refuse_over(row, per_minute, what)
    await conn.execute("INSERT INTO app.copilot_requests (tenant_id, kind) VALUES ($1, $2)", tenant_id, kind)


# How many requests the window holds and when the oldest leaves it (seconds, rounded up, at least 1).
_WINDOW = (
    "count(*) AS used, "
    "greatest(1, ceil(extract(epoch FROM min(created_at) + interval '1 minute' - now())))::int AS retry_after_s"
)


def _refuse_over(row: asyncpg.Record | None, per_minute: int, what: str) -> None:
    assert row is not None
    if row["used"] >= per_minute:
        raise RateLimitedError(
            f"rate limit: at most {per_minute} {what} per minute; try again in {row['retry_after_s']} s",
            details={"limit_per_minute": per_minute, "retry_after_s": row["retry_after_s"]},
        )


async def start(conn: asyncpg.Connection, tenant_id: UUID, title: str, conversation_id: UUID | None = None) -> dict:
    return await one_row(
        conn,
        f"""INSERT INTO app.copilot_conversations (id, tenant_id, title)
            VALUES (coalesce($3, gen_random_uuid()), $1, $2) RETURNING {CONVERSATION_COLUMNS}""",
        tenant_id,
        (" ".join(title.split()) or "Conversation")[:200],
        conversation_id,
    )


async def get(conn: asyncpg.Connection, conversation_id: UUID) -> dict:
    """A conversation of the caller; another user's (or tenant's) is indistinguishable from a missing one."""
    return await get_by_id(conn, "copilot_conversations", CONVERSATION_COLUMNS, conversation_id, what="conversation")


async def lock(conn: asyncpg.Connection, conversation_id: UUID) -> None:
    """Hold a conversation of the caller until the transaction ends, ``NotFoundError`` as ``get`` when it is gone.

    A turn is written seconds after its conversation was checked (the model answers in between): a delete that
    committed meanwhile is seen here, and one that comes later waits for the turn, then takes it with the rest.
    """
    sql = "SELECT id FROM app.copilot_conversations WHERE id = $1 FOR UPDATE"
    await row_or_missing(conn, sql, conversation_id, what="conversation", code="unknown_conversation")


async def list_conversations(conn: asyncpg.Connection, limit: int = 50) -> list[dict]:
    rows = await conn.fetch(
        f"SELECT {CONVERSATION_COLUMNS} FROM app.copilot_conversations ORDER BY updated_at DESC, id LIMIT $1", limit
    )
    return [dict(r) for r in rows]


async def messages(conn: asyncpg.Connection, conversation_id: UUID, limit: int = 200) -> list[dict]:
    rows = await conn.fetch(
        f"""SELECT {MESSAGE_COLUMNS} FROM (
                SELECT {MESSAGE_COLUMNS} FROM app.copilot_messages WHERE conversation_id = $1
                ORDER BY created_at DESC, id DESC LIMIT $2) recent
            ORDER BY created_at, id""",
        conversation_id,
        limit,
    )
    return [dict(r) for r in rows]


async def add_message(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    conversation_id: UUID,
    role: str,
    content: str,
    *,
    sources: list[dict[str, Any]] | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
) -> dict:
    message = await one_row(
        conn,
        f"""INSERT INTO app.copilot_messages (tenant_id, conversation_id, role, content, sources, tool_calls)
            VALUES ($1, $2, $3, $4, $5, $6) RETURNING {MESSAGE_COLUMNS}""",
        tenant_id,
        conversation_id,
        role,
        content,
        sources or [],
        tool_calls or [],
    )
    await conn.execute("UPDATE app.copilot_conversations SET updated_at = now() WHERE id = $1", conversation_id)
    return message


async def delete(conn: asyncpg.Connection, conversation_id: UUID) -> None:
    await delete_by_id(conn, "copilot_conversations", conversation_id, what="conversation")


async def give_feedback(
    conn: asyncpg.Connection, tenant_id: UUID, message_id: UUID, rating: int, comment: str | None
) -> dict:
    """Thumbs up (1) or down (-1) on one of the caller's assistant messages; giving it again replaces it."""
    role = await conn.fetchval("SELECT role FROM app.copilot_messages WHERE id = $1", message_id)
    if role != "assistant":
        raise NotFoundError(f"assistant message {message_id} not found", code="unknown_message")
    return await one_row(
        conn,
        """INSERT INTO app.copilot_feedback (tenant_id, message_id, rating, comment) VALUES ($1, $2, $3, $4)
           ON CONFLICT (tenant_id, message_id, user_id)
           DO UPDATE SET rating = EXCLUDED.rating, comment = EXCLUDED.comment, created_at = now()
           RETURNING message_id, rating, comment, created_at""",
        tenant_id,
        message_id,
        rating,
        comment,
    )
