"""Idempotency keys for POSTs that change stock.

The key is claimed inside the same transaction as the change. A concurrent request with the same key
blocks on the key's unique index until the first commits (then replays its stored response) or rolls
back (then proceeds as if first). A key reused with a different request is refused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from common.errors import IdempotencyMismatchError


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method.upper(), path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def claim(conn: asyncpg.Connection, tenant_id: UUID, key: str, request_fingerprint: str) -> StoredResponse | None:
    """Claim ``key`` for this transaction, or return the response already stored under it."""
    claimed = await conn.fetchval(
        """INSERT INTO app.idempotency_keys (tenant_id, key, fingerprint) VALUES ($1, $2, $3)
           ON CONFLICT (tenant_id, key) DO NOTHING RETURNING true""",
        tenant_id,
        key,
        request_fingerprint,
    )
    if claimed:
        return None
    row = await conn.fetchrow(
        "SELECT fingerprint, status_code, response FROM app.idempotency_keys WHERE tenant_id = $1 AND key = $2",
        tenant_id,
        key,
    )
    assert row is not None
    if row["fingerprint"] != request_fingerprint:
        raise IdempotencyMismatchError(
            f"Idempotency-Key {key!r} was already used for a different request; use a new key for a new request"
        )
    return StoredResponse(row["status_code"], row["response"])


async def store(conn: asyncpg.Connection, tenant_id: UUID, key: str, response: StoredResponse) -> None:
    await conn.execute(
        "UPDATE app.idempotency_keys SET status_code = $3, response = $4 WHERE tenant_id = $1 AND key = $2",
        tenant_id,
        key,
        response.status_code,
        response.body,
    )
