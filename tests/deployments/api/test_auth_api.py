"""Tokens at the API (in process; ES256/RS256 keys fetched from a real JWKS endpoint): HS256 and JWKS-verified
ES256/RS256 are accepted; forged, expired, unknown-key and non-member tokens get 401/403."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest

from common.dev_tokens import issue_hs256_token


def token_cases(tenant, secret: str) -> dict[str, str | None]:
    now = int(time.time())
    return {
        "missing": None,
        "expired": issue_hs256_token(secret, tenant.planner, expires_in_s=-60),
        "not yet valid": issue_hs256_token(secret, tenant.planner, extra_claims={"nbf": now + 600}),
        "wrong audience": issue_hs256_token(secret, tenant.planner, audience="anon"),
        "bad signature": issue_hs256_token("another-secret-entirely-0123456789abcdef", tenant.planner),
        "alg none": jwt.encode(
            {"sub": str(tenant.planner), "aud": "authenticated", "exp": now + 60}, None, algorithm="none"
        ),
        "garbage": "not.a.token",
        "subject not a uuid": issue_hs256_token(secret, "service-account"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "expired",
        "not yet valid",
        "wrong audience",
        "bad signature",
        "alg none",
        "garbage",
        "subject not a uuid",
    ],
)
async def test_invalid_tokens_get_401(http, make_tenant, settings, case):
    tenant = await make_tenant()
    token = token_cases(tenant, str(settings.jwt_secret))[case]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.get("/api/v1/products", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
async def test_asymmetric_tokens_verified_with_jwks_keys_are_accepted(http, make_tenant, signing_keys, alg):
    tenant = await make_tenant()
    now = int(time.time())
    token = signing_keys[alg].sign({"sub": str(tenant.planner), "aud": "authenticated", "exp": now + 300})
    response = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["tenant_id"] == str(tenant.id)


async def test_hs256_token_signed_with_the_public_key_is_rejected(http, make_tenant, signing_keys):
    tenant = await make_tenant()
    claims = {"sub": str(tenant.planner), "aud": "authenticated", "exp": int(time.time()) + 300}
    # Algorithm confusion: the attacker knows the public key and uses it as an HMAC secret.
    public_pem = signing_keys["RS256"].public_pem()
    header = {"alg": "HS256", "typ": "JWT", "kid": "serve-rsa"}
    token = _hmac_token(header, claims, public_pem)
    response = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_token_with_unknown_kid_is_rejected(http, make_tenant):
    from tests.common.jwks_server import make_ec_key

    tenant = await make_tenant()
    stranger = make_ec_key("not-published")
    token = stranger.sign({"sub": str(tenant.planner), "aud": "authenticated", "exp": int(time.time()) + 300})
    response = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["code"] == "unknown_key"


def _hmac_token(header: dict, claims: dict, secret: bytes) -> str:
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


async def test_valid_token_of_a_non_member_gets_403(http, settings):
    token = issue_hs256_token(str(settings.jwt_secret), uuid.uuid4())
    response = await http.get("/api/v1/products", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


# Tenant isolation through every endpoint -----------------------------------------------------------------
