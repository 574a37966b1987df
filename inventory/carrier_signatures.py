"""The carrier webhook's signature check, and the identity it records events as inside a tenant.

A carrier signs ``<timestamp>.<raw body>`` with HMAC-SHA256 under the tenant's webhook key
(``inventory.webhook_keys``); the call is refused when a header is missing, the timestamp is outside the
allowed skew (a replay) or the signature does not match.
"""

from __future__ import annotations

import hashlib
import hmac
from uuid import UUID, uuid5

import asyncpg

from common.errors import NotFoundError

# The identity the carrier webhook acts as inside a tenant: a planner-level member no token is issued for.
INTEGRATION_USER_ID = uuid5(UUID("6f1c2b1e-9c51-4c0e-8f5e-2f7f3e1d0a11"), "integration:carrier-webhook")
INTEGRATION_EMAIL = "carrier-webhook@integrations.chainsight"
SIGNATURE_PREFIX = "sha256="


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature a carrier sends: HMAC-SHA256 over ``<timestamp>.<raw body>``, hex, prefixed."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def signature_problem(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, *, now: float, max_skew_s: int
) -> str | None:
    """Why a webhook call must be refused, or None when its signature is valid and fresh."""
    problem = freshness_problem(timestamp, signature, now=now, max_skew_s=max_skew_s)
    if problem is not None:
        return problem
    # Compared as bytes: compare_digest refuses a str with non-ASCII characters (a header can carry them).
    if not hmac.compare_digest(sign(secret, str(timestamp), body).encode(), str(signature).encode()):
        return "the signature does not match the body"
    return None


def freshness_problem(timestamp: str | None, signature: str | None, *, now: float, max_skew_s: int) -> str | None:
    """The checks that need no key: both headers present and the timestamp within the skew (run before the
    key is looked up, so junk costs no database work)."""
    if not timestamp or not signature:
        return "send X-Chainsight-Timestamp and X-Chainsight-Signature headers"
    # Unix seconds are at most 12 digits for ages yet; a longer run of digits is no time (and 400 of them made
    # the float subtraction below overflow: a 500 for anyone, before any key was checked).
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return "X-Chainsight-Timestamp must be Unix seconds"
    if abs(now - int(timestamp)) > max_skew_s:
        return f"the timestamp is more than {max_skew_s} s away from the server's clock (a replay?)"
    return None


async def ensure_integration_member(owner_conn: asyncpg.Connection, tenant_id: UUID) -> None:
    """Make the webhook's identity a planner of ``tenant_id`` (on a service connection, not a request's)."""
    inserted = await owner_conn.fetchval(
        """INSERT INTO app.members (tenant_id, user_id, email, role)
           SELECT id, $2, $3, 'planner' FROM app.tenants WHERE id = $1
           ON CONFLICT (tenant_id, user_id) DO UPDATE SET role = 'planner'
           RETURNING true""",
        tenant_id,
        INTEGRATION_USER_ID,
        INTEGRATION_EMAIL,
    )
    if not inserted:
        raise NotFoundError(f"tenant {tenant_id} not found", code="unknown_tenant")


def integration_claims() -> dict[str, str]:
    return {"sub": str(INTEGRATION_USER_ID), "role": "authenticated", "email": INTEGRATION_EMAIL}
