"""Reads under a tenant's row-level security: a domain function given the connection ``Database.run`` opens with
the tenant's claims."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from common.database import Database, TenantTransaction

T = TypeVar("T")


async def as_planner(database: Database, tenant: Any, operation: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    async def op(tx: TenantTransaction) -> T:
        return await operation(tx.conn)

    return await database.run(tenant.claims(), None, op)
