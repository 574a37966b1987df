"""Signing keys and a real JWKS server on 127.0.0.1 for the token verification tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from common.auth import TokenVerifier
from tests.common.auth.tokens import (
    VerifierFactory,
    make_settings,
)
from tests.common.jwks_server import JWKSServer, SigningKey, make_ec_key, make_rsa_key


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
