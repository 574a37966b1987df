"""OAuth 2.0 client credentials, the same for SAP, Dynamics and NetSuite (``integrations.oauth``), against
each vendor's fake token endpoint: one token per lifetime, renewal a minute before it runs out or on a
401, and a token answer that is not a JSON object reported as a refusal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from integrations.connector import Connector, ConnectorConfig
from integrations.dynamics import DynamicsConnector
from integrations.errors import ConnectorAuthError
from integrations.http import RetryPolicy
from integrations.netsuite import TOKEN_PATH as NETSUITE_TOKEN_PATH
from integrations.netsuite import NetSuiteConnector
from integrations.records import Entity
from integrations.sap import OAUTH_TOKEN_PATH as SAP_TOKEN_PATH
from integrations.sap import SapConnector
from tests.support.fakes.base import FakeServer, Response
from tests.support.fakes.dynamics import FakeDynamics
from tests.support.fakes.netsuite import FakeNetSuite, rsa_key, signing_key_pem
from tests.support.fakes.sap import FakeSap

RETRY = RetryPolicy(max_attempts=2, backoff_s=0.01, timeout_s=5.0)


@dataclass
class Vendor:
    fake: FakeServer
    connector: Connector
    token_path: str
    entity: Entity  # one the connector reads in a call or two on an empty fake

    def tokens_issued(self) -> int:
        return self.fake.count("POST", self.token_path)

    async def read(self) -> None:
        async for _ in self.connector.pull(self.entity, None):
            pass


def sap() -> Vendor:
    fake = FakeSap().start()
    credentials = {"client_id": "sap-client", "client_secret": "sap-client-secret"}
    connector = SapConnector(ConnectorConfig(fake.url, credentials, page_size=4, retry=RETRY))
    return Vendor(fake, connector, SAP_TOKEN_PATH, Entity.SUPPLIERS)


def dynamics() -> Vendor:
    fake = FakeDynamics().start()
    connector = DynamicsConnector(
        ConnectorConfig(
            fake.url + "/api/v2.0/",
            {"client_id": "app-id", "client_secret": "app-secret"},
            {"token_url": fake.token_url, "company_id": fake.company_id},
            page_size=4,
            retry=RETRY,
        )
    )
    return Vendor(fake, connector, "/contoso.onmicrosoft.com/oauth2/v2.0/token", Entity.SUPPLIERS)


def netsuite() -> Vendor:
    key = rsa_key()
    fake = FakeNetSuite(public_key=key.public_key()).start()
    credentials = {"client_id": "ns-client", "certificate_id": "cert-1", "private_key": signing_key_pem(key)}
    connector = NetSuiteConnector(ConnectorConfig(fake.url, credentials, page_size=4, retry=RETRY))
    return Vendor(fake, connector, NETSUITE_TOKEN_PATH, Entity.WAREHOUSES)


@pytest.fixture(params=[sap, dynamics, netsuite], ids=["sap", "dynamics", "netsuite"])
async def vendor(request: pytest.FixtureRequest) -> AsyncIterator[Vendor]:
    made: Vendor = request.param()
    try:
        yield made
    finally:
        await made.connector.aclose()
        made.fake.stop()


def clock_of(vendor: Vendor) -> list[float]:
    """Put the connector's token cache on a clock the test moves (seconds, starting at 0)."""
    now = [0.0]
    vendor.connector.oauth.clock = lambda: now[0]  # type: ignore[attr-defined]
    return now


async def test_one_token_serves_every_call_until_a_minute_before_its_expires_in(vendor: Vendor):
    vendor.fake.token_lifetime_s = 600
    now = clock_of(vendor)
    await vendor.read()
    await vendor.read()
    now[0] = 539.0  # 61 s left
    await vendor.read()
    assert vendor.tokens_issued() == 1
    now[0] = 541.0  # 59 s left: renewed before the call
    await vendor.read()
    assert vendor.tokens_issued() == 2


async def test_a_token_revoked_early_is_renewed_once_on_401(vendor: Vendor):
    await vendor.read()
    vendor.fake.expire_tokens()  # type: ignore[attr-defined]
    await vendor.read()
    assert vendor.tokens_issued() == 2


async def test_a_token_answer_that_is_not_a_json_object_is_reported_as_a_refusal(vendor: Vendor):
    vendor.fake.answer_next(vendor.token_path, Response(200, ["not", "a", "token"]))
    with pytest.raises(ConnectorAuthError, match=r"refused the client credentials \(HTTP 200\)"):
        await vendor.read()


async def test_a_token_answer_with_a_null_expires_in_still_serves(vendor: Vendor):
    vendor.fake.answer_next(vendor.token_path, Response(200, {"access_token": "stale", "expires_in": None}))
    await vendor.read()  # the fake does not know "stale": one 401, one renewal, then the call goes through
    assert vendor.tokens_issued() == 2
