"""Which tokens the verifier accepts and which it rejects, with the reason (real keys, a real JWKS server)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from common.auth import TokenVerifier, VerifiedClaims, tenant_hint
from common.dev_tokens import issue_hs256_token
from tests.common.auth.tokens import (
    SECRET,
    TENANT,
    USER,
    VerifierFactory,
    b64url,
    claims,
    hmac_signed_token,
    make_settings,
    rejection,
)
from tests.common.jwks_server import JWKSServer, SigningKey, make_ec_key, make_rsa_key

# --- accepted tokens ----------------------------------------------------------------------------


async def test_hs256_dev_token_is_accepted_with_its_claims(verifier: TokenVerifier) -> None:
    token = issue_hs256_token(SECRET, USER, email="ana@chainsight.test", tenant_id=TENANT)

    verified = await verifier.verify(token)

    assert verified == VerifiedClaims(subject=USER, role="authenticated", email="ana@chainsight.test", raw=verified.raw)
    assert tenant_hint(verified.raw) == TENANT
    json.dumps(verified.raw)


async def test_es256_token_signed_by_a_jwks_key_is_accepted(verifier: TokenVerifier, ec_key: SigningKey) -> None:
    verified = await verifier.verify(ec_key.sign(claims()))
    assert verified.subject == USER


async def test_rs256_token_signed_by_a_jwks_key_is_accepted(verifier: TokenVerifier, rsa_key: SigningKey) -> None:
    verified = await verifier.verify(rsa_key.sign(claims()))
    assert verified.subject == USER


async def test_missing_role_defaults_to_authenticated_and_bad_tenant_gives_no_hint(
    verifier: TokenVerifier, ec_key: SigningKey
) -> None:
    payload = claims(app_metadata={"tenant_id": "not-a-uuid"})
    del payload["role"]
    verified = await verifier.verify(ec_key.sign(payload))
    assert (verified.role, tenant_hint(verified.raw), verified.email) == ("authenticated", None, None)


async def test_expired_token_within_leeway_is_accepted(make_verifier: VerifierFactory) -> None:
    token = issue_hs256_token(SECRET, USER, expires_in_s=-5)
    assert (await make_verifier(jwt_leeway_s=30).verify(token)).subject == USER


async def test_expected_issuer_is_accepted(make_verifier: VerifierFactory) -> None:
    verifier = make_verifier(supabase_url="https://proj.supabase.co")
    token = issue_hs256_token(SECRET, USER, issuer="https://proj.supabase.co/auth/v1")
    assert (await verifier.verify(token)).subject == USER


# --- rejected tokens ----------------------------------------------------------------------------


async def test_expired_token_is_rejected(verifier: TokenVerifier) -> None:
    assert await rejection(verifier, issue_hs256_token(SECRET, USER, expires_in_s=-5)) == "token_expired"


async def test_token_with_future_nbf_is_rejected(verifier: TokenVerifier, ec_key: SigningKey) -> None:
    token = ec_key.sign(claims(nbf=int(time.time()) + 300))
    assert await rejection(verifier, token) == "token_not_yet_valid"


async def test_token_issued_in_the_future_is_rejected(verifier: TokenVerifier) -> None:
    token = issue_hs256_token(SECRET, USER, extra_claims={"iat": int(time.time()) + 300})
    assert await rejection(verifier, token) == "token_not_yet_valid"


async def test_token_without_exp_is_rejected(verifier: TokenVerifier, rsa_key: SigningKey) -> None:
    payload = claims()
    del payload["exp"]
    assert await rejection(verifier, rsa_key.sign(payload)) == "malformed_token"


async def test_wrong_audience_is_rejected(verifier: TokenVerifier) -> None:
    token = issue_hs256_token(SECRET, USER, audience="anon-dashboard")
    assert await rejection(verifier, token) == "invalid_audience"


async def test_wrong_issuer_is_rejected(make_verifier: VerifierFactory) -> None:
    verifier = make_verifier(jwt_issuer="https://proj.supabase.co/auth/v1")
    token = issue_hs256_token(SECRET, USER, issuer="https://evil.supabase.co/auth/v1")
    assert await rejection(verifier, token) == "invalid_issuer"


async def test_missing_issuer_is_rejected_when_one_is_expected(make_verifier: VerifierFactory) -> None:
    verifier = make_verifier(jwt_issuer="https://proj.supabase.co/auth/v1")
    assert await rejection(verifier, issue_hs256_token(SECRET, USER)) == "invalid_issuer"


async def test_hs256_token_with_wrong_secret_is_rejected(verifier: TokenVerifier) -> None:
    token = issue_hs256_token(SECRET + "-other", USER)
    assert await rejection(verifier, token) == "invalid_signature"


async def test_es256_token_signed_by_another_key_with_a_known_kid_is_rejected(
    verifier: TokenVerifier,
) -> None:
    impostor = make_ec_key("ec-1")
    assert await rejection(verifier, impostor.sign(claims())) == "invalid_signature"


async def test_token_with_tampered_payload_is_rejected(verifier: TokenVerifier, rsa_key: SigningKey) -> None:
    header, _, signature = rsa_key.sign(claims()).split(".")
    tampered = b64url(json.dumps(claims(sub=str(uuid.uuid4()))).encode())
    assert await rejection(verifier, f"{header}.{tampered}.{signature}") == "invalid_signature"


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_alg_none_is_rejected(verifier: TokenVerifier, alg: str) -> None:
    header = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    token = f"{header}.{b64url(json.dumps(claims()).encode())}."
    assert await rejection(verifier, token) == "unsupported_algorithm"


@pytest.mark.parametrize("alg", ["HS384", "HS512", "ES384", "RS512", "PS256", "EdDSA"])
async def test_algorithms_outside_the_allow_list_are_rejected(verifier: TokenVerifier, alg: str) -> None:
    token = hmac_signed_token(claims(), SECRET.encode(), alg=alg, kid="ec-1")
    assert await rejection(verifier, token) == "unsupported_algorithm"


@pytest.mark.parametrize("key_name", ["ec_key", "rsa_key"])
async def test_hs256_token_signed_with_a_public_key_as_secret_is_rejected(
    verifier: TokenVerifier, request: pytest.FixtureRequest, key_name: str
) -> None:
    key: SigningKey = request.getfixturevalue(key_name)
    for secret in (key.public_pem(), json.dumps(key.jwk()).encode()):
        token = hmac_signed_token(claims(), secret, kid=key.kid)
        assert await rejection(verifier, token) == "invalid_signature"


async def test_hs256_token_is_rejected_when_no_secret_is_configured(
    jwks_server: JWKSServer, ec_key: SigningKey
) -> None:
    settings = make_settings(
        jwks_server.url,
        environment="production",
        database_url="postgresql://chainsight:s3cret@db.internal:5432/chainsight",
        supabase_jwt_secret=None,
        jwt_issuer="https://project.supabase.co/auth/v1",
    )
    assert settings.jwt_secret is None
    verifier = TokenVerifier(settings)
    try:
        # Even a token "signed" with the empty secret or the JWKS public key must not pass.
        for secret in (b"", ec_key.public_pem()):
            assert await rejection(verifier, hmac_signed_token(claims(), secret)) == "unsupported_algorithm"
    finally:
        await verifier.aclose()


async def test_es256_header_on_an_rsa_key_is_rejected(verifier: TokenVerifier, rsa_key: SigningKey) -> None:
    token = hmac_signed_token(claims(), b"irrelevant", alg="ES256", kid=rsa_key.kid)
    assert await rejection(verifier, token) == "unsupported_algorithm"


async def test_key_whose_declared_alg_differs_from_the_header_is_rejected(
    jwks_server: JWKSServer, verifier: TokenVerifier
) -> None:
    key = make_rsa_key("rsa-512")
    jwks_server.keys.append(key.jwk(alg="RS512"))
    assert await rejection(verifier, key.sign(claims())) == "unsupported_algorithm"


@pytest.mark.parametrize("declared_alg", [None, "ES256"])
async def test_ec_key_on_another_curve_is_rejected(
    jwks_server: JWKSServer, verifier: TokenVerifier, declared_alg: str | None
) -> None:
    key = SigningKey("ec-384", "ES256", ec.generate_private_key(ec.SECP384R1()))
    jwks_server.keys.append(key.jwk(alg=declared_alg))
    token = hmac_signed_token(claims(), b"irrelevant", alg="ES256", kid=key.kid)
    assert await rejection(verifier, token) == "unsupported_algorithm"


async def test_unknown_kid_is_rejected(verifier: TokenVerifier) -> None:
    assert await rejection(verifier, make_ec_key("ec-unknown").sign(claims())) == "unknown_key"


async def test_asymmetric_token_without_kid_is_rejected(verifier: TokenVerifier, ec_key: SigningKey) -> None:
    token = jwt.encode(claims(), ec_key.private_key, algorithm="ES256")
    assert await rejection(verifier, token) == "unknown_key"


@pytest.mark.parametrize("sub", [None, "", "user-42", 42])
async def test_subject_that_is_not_a_uuid_is_rejected(verifier: TokenVerifier, sub: Any) -> None:
    payload = claims(sub=sub)
    if sub is None:
        del payload["sub"]
    token = jwt.encode(payload, SECRET, algorithm="HS256")
    assert await rejection(verifier, token) == "missing_subject"


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "Bearer x.y.z", "e30.e30.e30.e30"])
async def test_garbage_is_rejected_as_malformed(verifier: TokenVerifier, token: str) -> None:
    assert await rejection(verifier, token) == "malformed_token"
