"""The certificate key a NetSuite connector signs its client assertion with: NetSuite's OAuth 2.0 client credentials
(machine to machine) flow takes RSA keys of 3072 or 4096 bits, or EC keys."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError

from integrations.connector import ConnectorConfig
from integrations.errors import ConnectorAuthError
from integrations.netsuite import NetSuiteConnector
from integrations.schemas import ConnectorCreate
from tests.support.fakes.netsuite import signing_key_pem

BODY = {"name": "ns", "kind": "netsuite", "base_url": "https://123456.suitetalk.api.netsuite.com"}
SHORT = "private_key is a 2048-bit RSA key: NetSuite takes RSA keys of 3072 or 4096 bits"


def credentials(bits: int) -> dict[str, str]:
    key: Any = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return {"client_id": "ns-client", "certificate_id": "cert-1", "private_key": signing_key_pem(key)}


def test_an_rsa_key_shorter_than_3072_bits_is_refused_when_configured():
    # Until 2026-12-07 it was saved, and NetSuite refused every token request it signed: each sync failed.
    with pytest.raises(ValidationError, match=SHORT):
        ConnectorCreate.model_validate({**BODY, "credentials": credentials(2048)})


@pytest.mark.parametrize("bits", [3072, 4096])
def test_an_rsa_key_of_3072_or_4096_bits_is_configured(bits):
    assert ConnectorCreate.model_validate({**BODY, "credentials": credentials(bits)}).kind == "netsuite"


def test_an_rsa_key_of_another_length_above_3072_bits_is_refused_when_configured():
    # NetSuite's certificate conditions name two RSA lengths; a 3584-bit key passed the first check of 2026-12-07.
    with pytest.raises(ValidationError, match="a 3584-bit RSA key: NetSuite takes RSA keys of 3072 or 4096 bits"):
        ConnectorCreate.model_validate({**BODY, "credentials": credentials(3584)})


def test_a_stored_rsa_key_shorter_than_3072_bits_fails_as_refused_credentials_naming_its_length():
    connector = NetSuiteConnector(ConnectorConfig(BODY["base_url"], credentials(2048)))
    with pytest.raises(ConnectorAuthError, match=SHORT):
        connector.token_form()
