"""A copilot row (a conversation, a document) read (and held, on request) or deleted by id, as the caller's
transaction sees it.

Row-level security scopes both: a row of another user (or tenant) is reported as missing, like one that does not
exist, so an id reveals nothing.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from common.errors import NotFoundError
from inventory.records import row_or_missing


async def get_by_id(
    conn: asyncpg.Connection, table: str, columns: str, row_id: UUID, *, what: str, lock: bool = False
) -> dict:
    """The ``columns`` of row ``row_id`` of ``app.<table>``; ``NotFoundError`` (``unknown_<what>``) when the
    caller sees none. With ``lock``, the row is held until the transaction ends (``FOR UPDATE``)."""
    sql = f"SELECT {columns} FROM app.{table} WHERE id = $1{' FOR UPDATE' if lock else ''}"
    return await row_or_missing(conn, sql, row_id, what=what, code=f"unknown_{what}")


async def delete_by_id(conn: asyncpg.Connection, table: str, row_id: UUID, *, what: str) -> None:
    """Delete row ``row_id`` of ``app.<table>``; ``NotFoundError`` (``unknown_<what>``) when the caller sees none."""
    deleted = await conn.fetchval(f"DELETE FROM app.{table} WHERE id = $1 RETURNING id", row_id)
    if deleted is None:
        raise NotFoundError(f"{what} {row_id} not found", code=f"unknown_{what}")
