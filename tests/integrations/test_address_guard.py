"""Connectors call only public addresses unless the operator allows a network (SSRF protection)."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from decimal import Decimal

import httpx
import pytest

from integrations.address_guard import ForbiddenAddressError, GuardedTransport
from integrations.connector import ConnectorConfig
from integrations.http import HttpClient, RetryPolicy
from integrations.records import PushLine, PushOrder
from integrations.sap import SapConnector
from integrations.sync import run_sync
from tests.integrations.conftest import bare_tenant, odoo_connector
from tests.support.fakes.odoo import FakeOdoo, populate
from tests.support.fakes.sap import FakeSap
from tests.support.fakes.sap import populate as populate_sap


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/",
        "http://localhost:9/",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9/",
        "http://[::ffff:127.0.0.1]:9/",
        "http://100.64.0.1/",
    ],
)
async def test_non_public_addresses_are_refused_before_connecting(url):
    client = HttpClient("erp", url, RetryPolicy(max_attempts=1, allowed_networks=()))
    try:
        with pytest.raises(ForbiddenAddressError, match="not a public address"):
            await client.request("GET", "")
    finally:
        await client.aclose()


async def test_an_allowed_network_is_reached_by_its_checked_address():
    with FakeOdoo() as fake:
        async with httpx.AsyncClient(transport=GuardedTransport(["127.0.0.0/8"])) as client:
            response = await client.post(fake.url.replace("127.0.0.1", "localhost") + "/web/session/authenticate")
    assert response.status_code < 500


async def test_a_sap_push_through_the_guard_sends_sap_its_session_cookie_back():
    # SAP checks a write's CSRF token against the session cookie that came with it. Until 2026-12-07 the guard left
    # the checked address in the request's URL, the client filed the cookie under 127.0.0.1 and never sent it to
    # localhost: every SAP push was refused (403) where the guard is on, as in production.
    with FakeSap() as fake:
        populate_sap(fake)
        sap = SapConnector(
            ConnectorConfig(
                base_url=fake.url.replace("127.0.0.1", "localhost"),
                credentials={"username": "COMM_USER", "password": "sap-secret"},
                retry=RetryPolicy(max_attempts=1, allowed_networks=("127.0.0.0/8",)),
            )
        )
        order = PushOrder(
            number="PO-GUARD-1", supplier_external_id="100000", supplier_code="100000", warehouse_external_id=None,
            warehouse_code="1010", currency="EUR", expected_date=date(2026, 3, 1),
            lines=[PushLine(1, "MAT000002", "MAT000002", Decimal(3), "PC", Decimal("2.5"))],
        )  # fmt: skip
        try:
            created = await sap.push_purchase_order(order)
        finally:
            await sap.aclose()
    assert fake.sets["A_PurchaseOrder"][created]["CorrespncInternalReference"] == "PO-GUARD-1"


async def test_a_sync_aimed_at_loopback_fails_with_the_reason_and_writes_nothing(sync_deps, owner_pool, make_tenant):
    tenant = await bare_tenant(owner_pool, make_tenant)
    guarded = dataclasses.replace(sync_deps, retry=dataclasses.replace(sync_deps.retry, allowed_networks=()))
    with FakeOdoo() as fake:
        populate(fake)
        connector = await odoo_connector(guarded, tenant, fake.url)
        result = await run_sync(guarded, tenant.id, connector)
    assert result["status"] == "failed"
    assert "127.0.0.1: 127.0.0.1 is not a public address" in json.dumps(result, default=str)
    assert await owner_pool.fetchval("SELECT count(*) FROM app.products WHERE tenant_id = $1", tenant.id) == 0
