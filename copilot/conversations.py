"""Conversations and messages, private to the user who started them (row-level security), and feedback."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from common.errors import NotFoundError, RateLimitedError
from copilot.records import delete_by_id, get_by_id
from inventory.listing import Listing, ListQuery, Page
from inventory.records import one_row

CONVERSATION_COLUMNS = "id, title, created_at, updated_at"
MESSAGE_COLUMNS = "id, conversation_id, role, content, sources, tool_calls, created_at"

# Row-level security keeps both to the caller's own rows, as every other read here.
CONVERSATIONS = Listing(
    table="app.copilot_conversations",
    columns=tuple(c.strip() for c in CONVERSATION_COLUMNS.split(",")),
    sortable={"updated_at": datetime, "created_at": datetime},
    default_sort="-updated_at",
)
# Newest first, so the first page holds the latest turns and each next one the turns before them.
_MESSAGES = Listing(
    table="app.copilot_messages",
    columns=tuple(c.strip() for c in MESSAGE_COLUMNS.split(",")),
    sortable={"created_at": datetime},
    default_sort="-created_at",
)


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
    await get_by_id(conn, "copilot_conversations", "id", conversation_id, what="conversation", lock=True)


async def list_conversations(conn: asyncpg.Connection, query: ListQuery) -> Page:
    sql, params = CONVERSATIONS.build(query)
    return CONVERSATIONS.page(await conn.fetch(sql, *params), query)


async def messages(conn: asyncpg.Connection, conversation_id: UUID, limit: int = 200) -> list[dict]:
    """The latest ``limit`` messages of a conversation, oldest first (the history a new turn is answered with)."""
    return (await message_page(conn, conversation_id, limit)).items


async def message_page(
    conn: asyncpg.Connection, conversation_id: UUID, limit: int = 200, cursor: str | None = None
) -> Page:
    """Up to ``limit`` messages of a conversation, oldest first: its latest, or with ``cursor`` (a page's
    ``next_cursor``) those just before that page's first; ``next_cursor`` is ``None`` once the page begins with
    the conversation's first message."""
    query = ListQuery(limit=limit, cursor=cursor)
    sql, params = _MESSAGES.build(query, first_param=2, extra_where=["conversation_id = $1"])
    page = _MESSAGES.page(await conn.fetch(sql, conversation_id, *params), query)
    return Page(page.items[::-1], page.next_cursor)


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
