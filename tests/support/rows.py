"""Row builders: arrange rows in the app schema as the owner role (no API, no row-level security), one column
per keyword. Values are bound as parameters; table and column names come from the test's own code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg


def _insert_sql(table: str, columns: Sequence[str]) -> str:
    params = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    return f"INSERT INTO app.{table} ({', '.join(columns)}) VALUES ({params})"


async def insert(conn: asyncpg.Connection, table: str, **columns: Any) -> Any:
    """One row in ``app.<table>``; returns its ``id`` (None for a table without one)."""
    row = await conn.fetchrow(_insert_sql(table, list(columns)) + " RETURNING *", *columns.values())
    assert row is not None
    return row.get("id")


async def insert_many(conn: asyncpg.Connection, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Rows that all name the same columns, in one batch."""
    if not rows:
        return
    columns = list(rows[0])
    if any(list(row) != columns for row in rows):
        raise ValueError(f"rows for app.{table} name different columns")
    await conn.executemany(_insert_sql(table, columns), [[row[c] for c in columns] for row in rows])


async def receipt_at(conn: asyncpg.Connection, tenant: Any, occurred_at: datetime, quantity: int = 1) -> None:
    """A receipt of the tenant's first product into its first warehouse, dated ``occurred_at``."""
    await insert(
        conn, "stock_movements", tenant_id=tenant.id, product_id=tenant.products[0],
        warehouse_id=tenant.warehouses[0], movement_type="receipt", quantity=Decimal(quantity), occurred_at=occurred_at,
    )  # fmt: skip


async def set_time_zone(owner_pool: asyncpg.Pool, warehouse: UUID, zone: str) -> None:
    """The warehouse keeps ``zone``'s calendar (an IANA name) from now on."""
    async with owner_pool.acquire() as conn:
        await conn.execute("UPDATE app.warehouses SET timezone = $2 WHERE id = $1", warehouse, zone)
