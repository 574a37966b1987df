"""A tenant of its own with one member, arranged as the owner role (benchmarks and the schema fuzzer)."""

from __future__ import annotations

import uuid

import asyncpg


async def add_tenant_with_member(
    conn: asyncpg.Connection, name: str, role: str = "planner"
) -> tuple[uuid.UUID, uuid.UUID]:
    """A fresh tenant named ``name`` (slug: the name and part of its id) and one member; (tenant id, user id)."""
    tenant, user = uuid.uuid4(), uuid.uuid4()
    await conn.execute(
        "INSERT INTO app.tenants (id, name, slug) VALUES ($1, $2, $3)",
        tenant,
        name,
        f"{name.lower()}-{tenant.hex[:12]}",
    )
    await conn.execute("INSERT INTO app.members (tenant_id, user_id, role) VALUES ($1, $2, $3)", tenant, user, role)
    return tenant, user
