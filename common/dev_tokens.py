"""HS256 tokens shaped like Supabase access tokens, for development and tests only."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt


def issue_hs256_token(
    secret: str,
    subject: uuid.UUID | str,
    *,
    audience: str = "authenticated",
    issuer: str | None = None,
    expires_in_s: int = 3600,
    email: str | None = None,
    tenant_id: uuid.UUID | None = None,
    extra_claims: dict[str, Any] | None = None,
) -> str:
    """Sign a token the way Supabase Auth would; ``extra_claims`` are applied last and win."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(subject),
        "aud": audience,
        "role": "authenticated",
        "iat": now,
        "exp": now + expires_in_s,
    }
    if issuer is not None:
        claims["iss"] = issuer
    if email is not None:
        claims["email"] = email
    if tenant_id is not None:
        # Where a Supabase custom access token hook would put it.
        claims["app_metadata"] = {"tenant_id": str(tenant_id)}
    if extra_claims:
        claims.update(extra_claims)
    return jwt.encode(claims, secret, algorithm="HS256")
