"""Token verification against real keys and a real JWKS server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from common.auth import AuthenticationError, JWKSCache, TokenVerifier, VerifiedClaims
from common.config import Settings
from common.dev_tokens import issue_hs256_token
from tests.common.jwks_server import JWKSServer, SigningKey, make_ec_key, make_rsa_key

SECRET = "test-secret-with-enough-entropy-for-hs256-0123456789"
USER = uuid.UUID("6f1c2b1e-8a55-4f0e-9a1d-3c2b5e7d9f10")
TENANT = uuid.UUID("0b9e4a63-2f11-4c55-8d2a-71c1f0e2a3b4")


# --- keys and a JWKS server ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def ec_key() -> SigningKey:
    return make_ec_key("ec-1")


@pytest.fixture(scope="module")
def rsa_key() -> SigningKey:
    return make_rsa_key("rsa-1")


@pytest.fixture
def jwks_server(ec_key: SigningKey, rsa_key: SigningKey) -> Iterator[JWKSServer]:
    server = JWKSServer()
    server.keys = [ec_key.jwk(), rsa_key.jwk()]
    yield server
    server.stop()


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


@pytest.fixture
async def make_verifier(jwks_server: JWKSServer) -> AsyncIterator[VerifierFactory]:
    verifiers: list[TokenVerifier] = []

    def factory(**overrides: Any) -> TokenVerifier:
        verifier = TokenVerifier(make_settings(jwks_server.url, **overrides))
        verifiers.append(verifier)
        return verifier

    yield factory
    for verifier in verifiers:
        await verifier.aclose()


@pytest.fixture
def verifier(make_verifier: VerifierFactory) -> TokenVerifier:
    return make_verifier()


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


# --- accepted tokens ----------------------------------------------------------------------------


async def test_hs256_dev_token_is_accepted_with_its_claims(verifier: TokenVerifier) -> None:
    token = issue_hs256_token(SECRET, USER, email="ana@chainsight.test", tenant_id=TENANT)

    verified = await verifier.verify(token)

    assert verified == VerifiedClaims(
        subject=USER, role="authenticated", email="ana@chainsight.test", tenant_hint=TENANT, raw=verified.raw
    )
    assert verified.raw["app_metadata"] == {"tenant_id": str(TENANT)}
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
    assert (verified.role, verified.tenant_hint, verified.email) == ("authenticated", None, None)


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


# --- JWKS fetching ------------------------------------------------------------------------------


async def test_concurrent_first_requests_share_one_jwks_fetch(
    jwks_server: JWKSServer, verifier: TokenVerifier, ec_key: SigningKey
) -> None:
    results = await asyncio.gather(*(verifier.verify(ec_key.sign(claims())) for _ in range(20)))
    assert len(results) == 20
    assert jwks_server.requests == 1


async def test_rotated_in_key_is_picked_up_after_refetch(
    jwks_server: JWKSServer, make_verifier: VerifierFactory, ec_key: SigningKey
) -> None:
    verifier = make_verifier(jwks_min_refetch_interval_s=0.0)
    await verifier.verify(ec_key.sign(claims()))
    new_key = make_ec_key("ec-2")
    jwks_server.keys.append(new_key.jwk())

    assert (await verifier.verify(new_key.sign(claims()))).subject == USER
    assert jwks_server.requests == 2


async def test_rotated_out_key_is_rejected_once_the_cache_expires(
    jwks_server: JWKSServer, make_verifier: VerifierFactory, ec_key: SigningKey
) -> None:
    verifier = make_verifier(jwks_cache_ttl_s=0.05, jwks_min_refetch_interval_s=0.0)
    await verifier.verify(ec_key.sign(claims()))
    jwks_server.keys = [k for k in jwks_server.keys if k["kid"] != ec_key.kid]
    await asyncio.sleep(0.1)

    assert await rejection(verifier, ec_key.sign(claims())) == "unknown_key"


async def test_unknown_kids_within_the_refetch_interval_cause_at_most_one_fetch(
    jwks_server: JWKSServer, make_verifier: VerifierFactory, ec_key: SigningKey
) -> None:
    verifier = make_verifier(jwks_min_refetch_interval_s=0.5)
    await verifier.verify(ec_key.sign(claims()))
    strangers = [make_ec_key(f"stranger-{i}").sign(claims()) for i in range(20)]
    await asyncio.sleep(0.55)  # the first unknown kid may now refetch; the other 39 must not

    outcomes = await asyncio.gather(*(verifier.verify(t) for t in strangers), return_exceptions=True)
    outcomes += await asyncio.gather(*(verifier.verify(t) for t in strangers), return_exceptions=True)

    assert all(isinstance(o, AuthenticationError) and o.code == "unknown_key" for o in outcomes)
    assert jwks_server.requests == 2
    assert (await verifier.verify(ec_key.sign(claims()))).subject == USER


async def test_unknown_kid_refetch_resumes_after_the_interval(
    jwks_server: JWKSServer, make_verifier: VerifierFactory, ec_key: SigningKey
) -> None:
    verifier = make_verifier(jwks_min_refetch_interval_s=0.2)
    await verifier.verify(ec_key.sign(claims()))
    new_key = make_ec_key("ec-late")
    jwks_server.keys.append(new_key.jwk())
    await asyncio.sleep(0.25)

    assert (await verifier.verify(new_key.sign(claims()))).subject == USER
    assert jwks_server.requests == 2


async def test_warm_cache_keeps_verifying_when_the_jwks_server_is_down(
    jwks_server: JWKSServer, make_verifier: VerifierFactory, ec_key: SigningKey, rsa_key: SigningKey
) -> None:
    verifier = make_verifier(jwks_cache_ttl_s=0.05, jwks_min_refetch_interval_s=0.0)
    await verifier.verify(ec_key.sign(claims()))
    jwks_server.stop()
    await asyncio.sleep(0.1)  # past the TTL, so the verifier does try to refetch

    assert (await verifier.verify(ec_key.sign(claims()))).subject == USER
    assert (await verifier.verify(rsa_key.sign(claims()))).subject == USER
    assert await rejection(verifier, make_ec_key("ec-new").sign(claims())) == "jwks_unavailable"


async def test_known_key_is_served_stale_while_a_slow_refresh_is_in_flight(
    jwks_server: JWKSServer, make_verifier: VerifierFactory, ec_key: SigningKey
) -> None:
    verifier = make_verifier(jwks_cache_ttl_s=0.05, jwks_min_refetch_interval_s=0.0)
    await verifier.verify(ec_key.sign(claims()))
    await asyncio.sleep(0.1)
    jwks_server.gate = threading.Event()
    jwks_server.arrived.clear()

    refreshing = asyncio.create_task(verifier.verify(ec_key.sign(claims())))
    assert await asyncio.to_thread(jwks_server.arrived.wait, 5)
    assert (await asyncio.wait_for(verifier.verify(ec_key.sign(claims())), 1)).subject == USER
    assert not refreshing.done()
    jwks_server.gate.set()
    assert (await refreshing).subject == USER


async def test_cold_cache_with_the_jwks_server_down_is_unavailable(
    jwks_server: JWKSServer, verifier: TokenVerifier, ec_key: SigningKey
) -> None:
    jwks_server.stop()
    assert await rejection(verifier, ec_key.sign(claims())) == "jwks_unavailable"
    # The failed attempt also counts against the refetch interval; the answer stays the same.
    assert await rejection(verifier, ec_key.sign(claims())) == "jwks_unavailable"


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, b'{"error": "boom"}'), (404, b"not found"), (200, b"<html>"), (200, b'{"keys": "nope"}')],
)
async def test_bad_jwks_response_is_unavailable(
    jwks_server: JWKSServer, verifier: TokenVerifier, ec_key: SigningKey, status: int, body: bytes
) -> None:
    jwks_server.status, jwks_server.body = status, body
    assert await rejection(verifier, ec_key.sign(claims())) == "jwks_unavailable"


async def test_unusable_jwks_entries_do_not_hide_the_good_ones(
    jwks_server: JWKSServer, verifier: TokenVerifier, ec_key: SigningKey
) -> None:
    jwks_server.keys = [
        {"kty": "WAT", "kid": "odd"},
        {"kty": "EC", "kid": "broken", "crv": "P-256", "x": "!!", "y": "!!"},
        "not-an-object",
        ec_key.jwk(),
    ]
    assert (await verifier.verify(ec_key.sign(claims()))).subject == USER


async def test_jwks_cache_with_a_shared_client_leaves_it_open(jwks_server: JWKSServer, ec_key: SigningKey) -> None:
    async with httpx.AsyncClient() as client:
        cache = JWKSCache(jwks_server.url, ttl_s=60, min_refetch_interval_s=60, client=client)
        assert (await cache.get_key(ec_key.kid)).key_id == ec_key.kid
        await cache.aclose()
        assert not client.is_closed


# --- tokens verified once: accepted again from the cache only while verifying again would accept them ---


async def test_a_token_verified_again_gives_the_same_claims_without_decoding_it_again(verifier, ec_key):
    token = ec_key.sign(claims())
    first = await verifier.verify(token)

    assert await verifier.verify(token) is first


async def test_a_cached_token_is_refused_once_it_expires(make_verifier):
    verifier = make_verifier(jwt_leeway_s=0)
    token = issue_hs256_token(SECRET, USER, expires_in_s=1)
    assert (await verifier.verify(token)).subject == USER
    await asyncio.sleep(max(0.0, int(time.time()) + 1.05 - time.time()))  # past its whole-second exp

    assert await rejection(verifier, token) == "token_expired"


async def test_a_cached_token_is_refused_once_its_key_is_rotated_out(jwks_server, make_verifier, ec_key):
    verifier = make_verifier(jwks_cache_ttl_s=0.05, jwks_min_refetch_interval_s=0.0)
    token = ec_key.sign(claims())
    await verifier.verify(token)
    jwks_server.keys = [k for k in jwks_server.keys if k["kid"] != ec_key.kid]
    await asyncio.sleep(0.1)

    assert await rejection(verifier, token) == "unknown_key"


async def test_a_cached_token_is_refused_once_its_kid_names_another_key(jwks_server, make_verifier, ec_key):
    verifier = make_verifier(jwks_cache_ttl_s=0.05, jwks_min_refetch_interval_s=0.0)
    token = ec_key.sign(claims())
    await verifier.verify(token)
    impostor = make_ec_key(ec_key.kid)  # same kid, other key material
    jwks_server.keys = [k for k in jwks_server.keys if k["kid"] != ec_key.kid] + [impostor.jwk()]
    await asyncio.sleep(0.1)

    assert await rejection(verifier, token) == "invalid_signature"
