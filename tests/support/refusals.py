"""A real database failure for one tenant's writes to one table, as a full disk or a lost connection would give."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

import asyncpg


@asynccontextmanager
async def refused_inserts(owner_pool: asyncpg.Pool, table: str, tenant_id: UUID, message: str) -> AsyncIterator[None]:
    """While open, PostgreSQL refuses every insert of ``tenant_id``'s rows into ``app.<table>`` with ``message``
    (a trigger; other tenants' rows pass)."""
    name = f"test_refuse_{table}"
    async with owner_pool.acquire() as conn:
        await conn.execute(
            f"""
            CREATE FUNCTION app.{name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.tenant_id = '{tenant_id}' THEN RAISE EXCEPTION '{message}'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER {name} BEFORE INSERT ON app.{table} FOR EACH ROW EXECUTE FUNCTION app.{name}();
            """
        )
    try:
        yield
    finally:
        async with owner_pool.acquire() as conn:
            await conn.execute(f"DROP TRIGGER {name} ON app.{table}; DROP FUNCTION app.{name}()")
