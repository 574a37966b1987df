"""Stored ERP credentials never follow a connector to a new address without being sent again, and an address no
HTTP client can open is refused, or, stored before it was checked, fails a push as the ERP's error."""

from __future__ import annotations

import dataclasses

import pytest

from common.database import TenantTransaction
from common.errors import InvalidInputError
from integrations import store
from integrations.errors import ConnectorError
from integrations.push import push_purchase_order
from integrations.schemas import ConnectorUpdate
from integrations.sync import run_sync
from tests.integrations.conftest import bare_tenant, configure, draft_order, odoo_connector
from tests.support.fakes.odoo import FakeOdoo, populate


async def update(sync_deps, tenant, connector_id, **fields):
    async def op(tx: TenantTransaction) -> dict:
        return await store.update_connector(tx, connector_id, ConnectorUpdate(**fields), sync_deps.cipher)

    return await sync_deps.database.run(tenant.claims(tenant.admin), None, op)


async def sap_connector(sync_deps, tenant):
    return await configure(
        sync_deps,
        tenant,
        kind="sap",
        base_url="https://erp.example.com",
        options={"token_url": "https://erp.example.com/oauth/token"},
        credentials={"client_id": "id", "client_secret": "secret"},
    )


@pytest.mark.parametrize(
    "change",
    [{"base_url": "https://attacker.example.net"}, {"options": {"token_url": "https://attacker.example.net/t"}}],
    ids=["base_url", "token_url"],
)
async def test_moving_the_connector_without_its_credentials_is_refused(sync_deps, make_tenant, change):
    tenant = await make_tenant()
    connector = await sap_connector(sync_deps, tenant)
    with pytest.raises(InvalidInputError) as refused:
        await update(sync_deps, tenant, connector, **change)
    assert refused.value.code == "credentials_required"
    moved = await update(
        sync_deps, tenant, connector, **change, credentials={"client_id": "id2", "client_secret": "s2"}
    )
    assert moved["base_url"] == change.get("base_url", "https://erp.example.com")


async def test_other_changes_keep_the_stored_credentials(sync_deps, make_tenant):
    tenant = await make_tenant()
    connector = await sap_connector(sync_deps, tenant)
    updated = await update(sync_deps, tenant, connector, enabled=False, base_url="https://erp.example.com")
    assert updated["enabled"] is False


async def test_a_token_url_no_http_client_can_open_is_refused_on_update(sync_deps, make_tenant):
    # Before, it was stored and every push through the connector was a 500.
    tenant = await make_tenant()
    connector = await sap_connector(sync_deps, tenant)
    with pytest.raises(InvalidInputError) as refused:
        await update(
            sync_deps,
            tenant,
            connector,
            options={"token_url": "http://login:443x/t"},
            credentials={"client_id": "id", "client_secret": "secret"},
        )
    assert refused.value.code == "invalid_connector"


@pytest.mark.parametrize(
    ("stored", "reason"), [("http://erp:8069x", "not a usable URL"), ("https://a..b/", "cannot resolve a..b")]
)
async def test_a_push_through_a_base_url_stored_before_it_was_checked_fails_as_the_erp_and_releases_the_order(
    sync_deps, owner_pool, make_tenant, stored, reason
):
    # Before, the push was a 500, and the bad port's one kept its claim: the order could be neither edited nor pushed.
    tenant = await bare_tenant(owner_pool, make_tenant)
    with FakeOdoo() as odoo:
        populate(odoo)
        connector = await odoo_connector(sync_deps, tenant, odoo.url)
        await run_sync(sync_deps, tenant.id, connector)
    order = await draft_order(sync_deps, tenant, "V001", "WH", [("SKU-000002", 3, None, "2")])
    await owner_pool.execute("UPDATE app.integration_connectors SET base_url = $2 WHERE id = $1", connector, stored)
    guarded = dataclasses.replace(sync_deps, retry=dataclasses.replace(sync_deps.retry, allowed_networks=()))
    for _ in range(2):  # the second is refused for the same reason, not as claimed by the first
        with pytest.raises(ConnectorError, match=reason):
            await push_purchase_order(guarded, tenant.claims(), None, connector, order["id"])
