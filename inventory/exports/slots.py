"""How many exports one user may stream at once, across every API replica.

An export holds its database connection while the client downloads; without a cap one member (a viewer
included) could hold the whole pool with slow downloads. A slot is a transaction-level advisory lock on
the export's own connection: it is released when the export's transaction ends, however it ends.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from common.errors import RateLimitedError


async def claim_export_slot(conn: asyncpg.Connection, user_id: UUID, slots: int) -> None:
    """Take one of the user's ``slots`` export slots for this transaction, or raise RateLimitedError (429)."""
    for slot in range(slots):
        if await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext($1), $2)", f"export:{user_id}", slot):
            return
    raise RateLimitedError(
        f"you already have {slots} exports downloading; wait for one to finish",
        code="too_many_exports",
        details={"max_concurrent_exports": slots, "retry_after_s": 5},
    )
