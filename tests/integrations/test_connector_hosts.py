"""Stored ERP credentials never follow a connector to a new address without being sent again."""

from __future__ import annotations

import pytest

from common.database import TenantTransaction
from common.errors import InvalidInputError
from integrations import store
from integrations.schemas import ConnectorUpdate
from tests.integrations.conftest import configure


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
