"""Per-tenant carrier webhook keys, and the once-per-tenant record of every carrier event_id accepted.

A key is an id (sent by the carrier as ``X-Chainsight-Key-Id``) and a random secret the carrier signs with.
The secret is stored encrypted with the ERP connectors' cipher (``INTEGRATIONS_ENCRYPTION_KEY``) and shown
in clear once, when the key is created or rotated. Rotating replaces the secret at once; for an overlap,
create a second key, move the carrier to it, then revoke the first. A revoked key signs nothing again.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, timedelta
from typing import NoReturn
from uuid import UUID

import asyncpg

from common.database import MemberRole, TenantTransaction, delete_counted
from common.errors import ConflictError, NotFoundError, PermissionDeniedError
from integrations.crypto import CredentialCipher
from inventory.shipment_schemas import CarrierWebhookEvent

KEY_COLUMNS = "id, name, created_by, created_at, rotated_at, revoked_at, last_used_at"


def _require_admin(tx: TenantTransaction) -> None:
    if tx.role is not MemberRole.ADMIN:
        raise PermissionDeniedError("carrier webhook keys are managed by admins", code="forbidden")


def new_secret() -> str:
    return "cwk_" + secrets.token_urlsafe(32)


async def create_key(tx: TenantTransaction, name: str, cipher: CredentialCipher) -> dict:
    """A new active key; the returned row carries the clear ``secret`` (never readable again)."""
    _require_admin(tx)
    secret = new_secret()
    row = await tx.conn.fetchrow(
        f"""INSERT INTO app.carrier_webhook_keys (tenant_id, name, secret, created_by)
            VALUES ($1, $2, $3, $4) RETURNING {KEY_COLUMNS}""",
        tx.tenant_id,
        name,
        cipher.encrypt({"secret": secret}),
        tx.user_id,
    )
    assert row is not None
    return {**dict(row), "secret": secret}


async def list_keys(tx: TenantTransaction) -> list[dict]:
    _require_admin(tx)
    rows = await tx.conn.fetch(f"SELECT {KEY_COLUMNS} FROM app.carrier_webhook_keys ORDER BY created_at, id")
    return [dict(r) for r in rows]


async def rotate_key(tx: TenantTransaction, key_id: UUID, cipher: CredentialCipher) -> dict:
    """A new secret for an active key; the old one stops verifying immediately."""
    _require_admin(tx)
    secret = new_secret()
    row = await tx.conn.fetchrow(
        f"""UPDATE app.carrier_webhook_keys SET secret = $2, rotated_at = now()
            WHERE id = $1 AND revoked_at IS NULL RETURNING {KEY_COLUMNS}""",
        key_id,
        cipher.encrypt({"secret": secret}),
    )
    if row is None:
        await _missing_or_revoked(tx, key_id)
    return {**dict(row), "secret": secret}


async def revoke_key(tx: TenantTransaction, key_id: UUID) -> dict:
    _require_admin(tx)
    row = await tx.conn.fetchrow(
        f"""UPDATE app.carrier_webhook_keys SET revoked_at = now()
            WHERE id = $1 AND revoked_at IS NULL RETURNING {KEY_COLUMNS}""",
        key_id,
    )
    if row is None:
        await _missing_or_revoked(tx, key_id)
    return dict(row)


async def _missing_or_revoked(tx: TenantTransaction, key_id: UUID) -> NoReturn:
    if await tx.conn.fetchval("SELECT 1 FROM app.carrier_webhook_keys WHERE id = $1", key_id):
        raise ConflictError(f"carrier webhook key {key_id} is revoked", code="key_revoked")
    raise NotFoundError(f"carrier webhook key {key_id} not found", code="unknown_key")


async def active_key(owner_conn: asyncpg.Connection, key_id: UUID, cipher: CredentialCipher) -> tuple[UUID, str] | None:
    """(tenant, clear secret) of an active key, or None for an unknown or revoked one. On the service's
    connection, before any tenant is entered: the key id is all the webhook knows."""
    row = await owner_conn.fetchrow("SELECT tenant_id, secret FROM app.carrier_webhook_key($1)", key_id)
    if row is None:
        return None
    return row["tenant_id"], str(cipher.decrypt(row["secret"])["secret"])


async def mark_used(owner_conn: asyncpg.Connection, key_id: UUID) -> None:
    await owner_conn.execute("UPDATE app.carrier_webhook_keys SET last_used_at = now() WHERE id = $1", key_id)


def body_digest(body: bytes) -> str:
    """The SHA-256 of a raw body: what a delivery recorded before 2026-12-08 was claimed with."""
    return hashlib.sha256(body).hexdigest()


def event_digest(event: CarrierWebhookEvent) -> str:
    """The SHA-256 of the event itself, in one canonical form: every field, ``occurred_at`` as a UTC instant, keys
    sorted, compact JSON. A carrier's retry of the same event serialised another way (spacing, key order, ``Z`` or
    ``+00:00``, an offset of another zone for the same instant) matches; any changed field does not. Until
    2026-12-08 the raw body's digest was compared, and such a retry was refused 409 ``event_id_reused``."""
    fields = event.model_dump(mode="json")
    if event.occurred_at is not None:
        fields["occurred_at"] = event.occurred_at.astimezone(UTC).isoformat()
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def claim_event(
    tx: TenantTransaction,
    event_id: str,
    key_id: UUID,
    digest: str,
    shipment_id: UUID,
    *,
    also_matches: str | None = None,
) -> bool:
    """Record ``event_id`` for the tenant in the event's own transaction: True the first time, False for a
    repeat of the same event (a carrier retry or a captured request replayed); ConflictError (409) when the
    event_id was already used for a different event. ``digest`` is the event's (``event_digest``); a record made
    before it matches ``also_matches`` (the raw body's digest) instead."""
    inserted = await tx.conn.fetchval(
        """INSERT INTO app.carrier_webhook_deliveries (tenant_id, event_id, key_id, body_sha256, shipment_id)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, event_id) DO NOTHING RETURNING true""",
        tx.tenant_id,
        event_id,
        key_id,
        digest,
        shipment_id,
    )
    if inserted:
        return True
    earlier = await tx.conn.fetchval(
        "SELECT body_sha256 FROM app.carrier_webhook_deliveries WHERE tenant_id = $1 AND event_id = $2",
        tx.tenant_id,
        event_id,
    )
    if earlier not in (digest, also_matches):
        raise ConflictError(f"event_id {event_id!r} was already used for a different event", code="event_id_reused")
    return False


# Kept well beyond any carrier's retry schedule: a retry of an event still on record is answered without a
# second effect; the timestamp skew check refuses captured requests long before this.
DELIVERY_RETENTION = timedelta(days=30)


async def purge_old_deliveries(conn: asyncpg.Connection) -> int:
    """Delete delivery records older than ``DELIVERY_RETENTION`` (of every tenant, on a service connection)."""
    return await delete_counted(
        conn, "DELETE FROM app.carrier_webhook_deliveries WHERE received_at < now() - $1::interval", DELIVERY_RETENTION
    )
