"""In-app notifications with per-member read state."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from common.errors import NotFoundError
from inventory.listing import Listing, ListQuery, Page
from inventory.records import one_row

NOTIFICATIONS = Listing(
    table="app.my_notifications",
    columns=("id", "kind", "title", "data", "personal", "read", "read_at", "created_at"),
    sortable={"created_at": datetime},
    default_sort="-created_at",
    equality_filters={"kind": "text", "read": "boolean"},
)


async def list_notifications(conn: asyncpg.Connection, query: ListQuery) -> Page:
    sql, params = NOTIFICATIONS.build(query)
    return NOTIFICATIONS.page(await conn.fetch(sql, *params), query)


async def mark_read(conn: asyncpg.Connection, tenant_id: UUID, user_id: UUID, notification_id: UUID) -> dict:
    if not await conn.fetchval("SELECT 1 FROM app.my_notifications WHERE id = $1", notification_id):
        raise NotFoundError(f"notification {notification_id} not found")
    await conn.execute(
        """INSERT INTO app.notification_reads (tenant_id, notification_id, user_id) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING""",
        tenant_id,
        notification_id,
        user_id,
    )
    return await one_row(
        conn, f"SELECT {', '.join(NOTIFICATIONS.columns)} FROM app.my_notifications WHERE id = $1", notification_id
    )


async def mark_all_read(conn: asyncpg.Connection, tenant_id: UUID, user_id: UUID) -> int:
    marked = await conn.execute(
        """INSERT INTO app.notification_reads (tenant_id, notification_id, user_id)
           SELECT $1, id, $2 FROM app.my_notifications WHERE NOT read
           ON CONFLICT DO NOTHING""",
        tenant_id,
        user_id,
    )
    return int(marked.split()[-1])
