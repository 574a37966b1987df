"""Idempotency keys for POSTs that change stock.

The key is claimed inside the same transaction as the change. A concurrent request with the same key
blocks on the key's unique index until the first commits (then replays its stored response) or rolls
back (then proceeds as if first). A key reused with a different request is refused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import asyncpg

from common.database import delete_counted
from common.errors import IdempotencyMismatchError

# How long a key replays its response (Stripe keeps keys 24 hours too).
KEY_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method.upper(), path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def claim(
    conn: asyncpg.Connection, tenant_id: UUID, user_id: UUID, key: str, request_fingerprint: str
) -> StoredResponse | None:
    """Claim the user's ``key`` for this transaction, or return the response already stored under it.

    A key older than ``KEY_TTL`` is claimed afresh, as if unused (keys are for retries, not for ever).
    """
    claimed = await conn.fetchval(
        """INSERT INTO app.idempotency_keys (tenant_id, user_id, key, fingerprint) VALUES ($1, $2, $3, $4)
           ON CONFLICT (tenant_id, user_id, key) DO UPDATE
               SET fingerprint = EXCLUDED.fingerprint, status_code = NULL, response = NULL, created_at = now()
               WHERE app.idempotency_keys.created_at <= now() - $5::interval
           RETURNING true""",
        tenant_id,
        user_id,
        key,
        request_fingerprint,
        KEY_TTL,
    )
    if claimed:
        return None
    row = await conn.fetchrow(
        "SELECT fingerprint, status_code, response FROM app.idempotency_keys "
        "WHERE tenant_id = $1 AND user_id = $2 AND key = $3",
        tenant_id,
        user_id,
        key,
    )
    assert row is not None
    if row["fingerprint"] != request_fingerprint:
        raise IdempotencyMismatchError(
            f"Idempotency-Key {key!r} was already used for a different request; use a new key for a new request"
        )
    return StoredResponse(row["status_code"], row["response"])


async def store(conn: asyncpg.Connection, tenant_id: UUID, user_id: UUID, key: str, response: StoredResponse) -> None:
    await conn.execute(
        "UPDATE app.idempotency_keys SET status_code = $4, response = $5 "
        "WHERE tenant_id = $1 AND user_id = $2 AND key = $3",
        tenant_id,
        user_id,
        key,
        response.status_code,
        response.body,
    )


async def purge_expired(conn: asyncpg.Connection) -> int:
    """Delete the keys older than ``KEY_TTL`` (of every tenant on a service connection)."""
    return await delete_counted(
        conn, "DELETE FROM app.idempotency_keys WHERE created_at <= now() - $1::interval", KEY_TTL
    )
