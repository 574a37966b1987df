"""Tokens for the verification tests: claims, hand-made signatures, settings with every auth field pinned."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from common.auth import AuthenticationError, TokenVerifier
from common.config import Settings

SECRET = "test-secret-with-enough-entropy-for-hs256-0123456789"
USER = uuid.UUID("6f1c2b1e-8a55-4f0e-9a1d-3c2b5e7d9f10")
TENANT = uuid.UUID("0b9e4a63-2f11-4c55-8d2a-71c1f0e2a3b4")


def make_settings(jwks_url: str, **overrides: Any) -> Settings:
    # Every auth field is pinned so a stray .env or SUPABASE_* variable cannot change the outcome.
    fields: dict[str, Any] = {
        "environment": "test",
        "supabase_url": None,
        "supabase_jwks_url": jwks_url,
        "supabase_jwt_secret": SECRET,
        "jwt_audience": "authenticated",
        "jwt_issuer": None,
        "jwt_leeway_s": 0,
        "jwks_cache_ttl_s": 600.0,
        "jwks_min_refetch_interval_s": 60.0,
        **overrides,
    }
    return Settings(_env_file=None, **fields)


VerifierFactory = Callable[..., TokenVerifier]


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    payload = {"sub": str(USER), "aud": "authenticated", "role": "authenticated", "iat": now, "exp": now + 600}
    return payload | overrides


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hmac_signed_token(payload: dict[str, Any], secret: bytes, **header: Any) -> str:
    """An HMAC-SHA256 signature under any header: PyJWT refuses PEM keys as HMAC secrets and odd algs."""
    signing_input = (
        b64url(json.dumps({"alg": "HS256", "typ": "JWT", **header}).encode())
        + "."
        + b64url(json.dumps(payload).encode())
    )
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature)


async def rejection(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(AuthenticationError) as caught:
        await verifier.verify(token)
    return caught.value.code
