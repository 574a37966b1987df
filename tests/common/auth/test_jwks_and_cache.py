"""Fetching, caching and refreshing the JWKS, and tokens accepted again from the verifier's cache."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest

from common.auth import AuthenticationError, AuthUnavailableError, JWKSCache, TokenVerifier
from common.dev_tokens import issue_hs256_token
from tests.common.auth.tokens import (
    SECRET,
    USER,
    VerifierFactory,
    claims,
    rejection,
)
from tests.common.jwks_server import JWKSServer, SigningKey, make_ec_key


async def unavailable(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(AuthUnavailableError) as caught:
        await verifier.verify(token)
    return caught.value.code


# --- JWKS fetching ------------------------------------------------------------------------------


async def test_concurrent_first_requests_share_one_jwks_fetch(
    jwks_server: JWKSServer, verifier: TokenVerifier, ec_key: SigningKey
) -> None:
    results = await asyncio.gather(*(verifier.verify(ec_key.sign(claims())) for _ in range(20)))
    assert len(results) == 20
    assert jwks_server.requests == 1


@pytest.mark.parametrize(
    ("refetch_interval_s", "wait_s"),
    [pytest.param(0.0, 0.0, id="no-refetch-interval"), pytest.param(0.2, 0.25, id="once-the-refetch-interval-passed")],
)
async def test_a_rotated_in_key_is_picked_up_by_one_refetch(
    jwks_server: JWKSServer,
    make_verifier: VerifierFactory,
    ec_key: SigningKey,
    refetch_interval_s: float,
    wait_s: float,
) -> None:
    verifier = make_verifier(jwks_min_refetch_interval_s=refetch_interval_s)
    await verifier.verify(ec_key.sign(claims()))
    new_key = make_ec_key("ec-2")
    jwks_server.keys.append(new_key.jwk())
    await asyncio.sleep(wait_s)

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


async def test_warm_cache_keeps_verifying_when_the_jwks_server_is_down(
    jwks_server: JWKSServer, make_verifier: VerifierFactory, ec_key: SigningKey, rsa_key: SigningKey
) -> None:
    verifier = make_verifier(jwks_cache_ttl_s=0.05, jwks_min_refetch_interval_s=0.0)
    await verifier.verify(ec_key.sign(claims()))
    jwks_server.stop()
    await asyncio.sleep(0.1)  # past the TTL, so the verifier does try to refetch

    assert (await verifier.verify(ec_key.sign(claims()))).subject == USER
    assert (await verifier.verify(rsa_key.sign(claims()))).subject == USER
    assert await unavailable(verifier, make_ec_key("ec-new").sign(claims())) == "auth_unavailable"


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
    # Until 2026-12-07 this was a 401 invalid_token: clients that log out on 401 logged every user out of a fresh
    # replica (empty key cache) while the JWKS was away. The token may well be good: the server cannot tell now.
    jwks_server.stop()
    assert await unavailable(verifier, ec_key.sign(claims())) == "auth_unavailable"
    # The failed attempt also counts against the refetch interval; the answer stays the same.
    assert await unavailable(verifier, ec_key.sign(claims())) == "auth_unavailable"


async def test_an_unavailable_jwks_is_told_generically_with_when_to_retry(
    jwks_server: JWKSServer, make_verifier: VerifierFactory, ec_key: SigningKey
) -> None:
    verifier = make_verifier(jwks_min_refetch_interval_s=30.0)
    jwks_server.stop()
    with pytest.raises(AuthUnavailableError) as caught:
        await verifier.verify(ec_key.sign(claims()))
    # The JWKS URL and the upstream error are for the logs, not for whoever sent a token.
    assert jwks_server.url not in caught.value.message and "127.0.0.1" not in caught.value.message
    assert 1 <= caught.value.details["retry_after_s"] <= 30


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, b'{"error": "boom"}'), (404, b"not found"), (200, b"<html>"), (200, b'{"keys": "nope"}')],
)
async def test_bad_jwks_response_is_unavailable(
    jwks_server: JWKSServer, verifier: TokenVerifier, ec_key: SigningKey, status: int, body: bytes
) -> None:
    jwks_server.status, jwks_server.body = status, body
    assert await unavailable(verifier, ec_key.sign(claims())) == "auth_unavailable"


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


async def test_parallel_requests_with_a_cached_token_whose_key_was_rotated_out_are_all_refused(
    jwks_server, make_verifier, ec_key
):
    # Before, the first request dropped the token from the cache and the others' own drop raised KeyError (a 500
    # carrying the token into the error log).
    verifier = make_verifier(jwks_min_refetch_interval_s=0.0)
    token = ec_key.sign(claims())
    await verifier.verify(token)
    successor = make_ec_key("ec-successor")
    jwks_server.keys = [successor.jwk()]
    await verifier.verify(successor.sign(claims()))  # its fetch drops the old key from the cache

    outcomes = await asyncio.gather(*(verifier.verify(token) for _ in range(3)), return_exceptions=True)
    assert [getattr(o, "code", repr(o)) for o in outcomes] == ["unknown_key"] * 3
