"""A push's ERP work has a hard deadline; a push past it keeps its claim until the claim lapses (the ERP may still be
creating the order), and a push that fails in any other way (a connector that cannot even be built included)
releases its claim at once."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from common.errors import ConflictError, ServiceUnavailableError
from integrations.errors import ConnectorProtocolError
from integrations.push import push_purchase_order
from integrations.sync import SyncDeps, run_sync
from inventory import purchasing
from tests.integrations.conftest import bare_tenant, draft_order, odoo_connector
from tests.support.fakes.odoo import FakeOdoo, populate


@pytest.fixture
def odoo() -> Iterator[FakeOdoo]:
    with FakeOdoo() as fake:
        populate(fake)
        yield fake


async def synced_draft(sync_deps: SyncDeps, owner_pool: asyncpg.Pool, make_tenant: Any, odoo: FakeOdoo) -> Any:
    tenant = await bare_tenant(owner_pool, make_tenant)
    connector = await odoo_connector(sync_deps, tenant, odoo.url)
    await run_sync(sync_deps, tenant.id, connector)
    order = await draft_order(sync_deps, tenant, "V001", "WH", [("SKU-000002", 3, None, "2")])
    return tenant, connector, order


async def claims(owner_pool: asyncpg.Pool, order: dict) -> int:
    count: int = await owner_pool.fetchval(
        "SELECT count(*) FROM app.integration_push_claims WHERE purchase_order_id = $1", order["id"]
    )
    return count


def made_for(odoo: FakeOdoo, order: dict) -> list[dict]:
    return [o for o in odoo.models["purchase.order"].values() if o.get("origin") == f"Chainsight {order['number']}"]


async def test_a_push_past_its_deadline_stops_and_keeps_its_claim_until_it_lapses(
    sync_deps, owner_pool, make_tenant, odoo
):
    """Until 2026-12-07 the claim went at the deadline and the 503 said Retry-After: 1, while the ERP was still
    creating the order: a push a second later found nothing by its origin and Odoo made the order twice."""
    tenant, connector, order = await synced_draft(sync_deps, owner_pool, make_tenant, odoo)
    odoo.slow_down(lambda r: b'"create"' in r.body, 2.0)  # well inside the request timeout (5 s)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailableError) as raised:
        await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"], deadline_s=0.5)
    assert time.monotonic() - started < 1.5
    assert raised.value.code == "erp_timeout"
    assert "within 0.5 s and may still be creating the order" in raised.value.message
    # Retry-After: until the claim lapses, the deadline plus a minute after the claim.
    assert 59 <= raised.value.details["retry_after_s"] <= 61
    assert await claims(owner_pool, order) == 1
    await asyncio.sleep(1.0)  # what Retry-After said until 2026-12-07
    with pytest.raises(ConflictError) as refused:
        await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"], deadline_s=0.5)
    assert refused.value.code == "push_in_progress"

    async def cancel(tx: Any) -> dict:
        return await purchasing.cancel_order(tx.conn, tx.tenant_id, order["id"])

    with pytest.raises(ConflictError, match="being pushed"):
        await sync_deps.database.run(tenant.claims(), None, cancel)
    await asyncio.sleep(1.5)  # the ERP has made the order by now
    (made,) = made_for(odoo, order)
    # Once the claim has lapsed (aged here, not waited for), Odoo's look-up of the origin finds the order.
    await owner_pool.execute("UPDATE app.integration_push_claims SET claimed_at = now() - interval '61 seconds'")
    pushed = await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"], deadline_s=0.5)
    assert (pushed["external_id"], len(made_for(odoo, order)), await claims(owner_pool, order)) == (
        str(made["id"]),
        1,
        0,
    )


async def test_a_connector_that_cannot_be_built_releases_the_claim_at_once(sync_deps, owner_pool, make_tenant, odoo):
    tenant, connector, order = await synced_draft(sync_deps, owner_pool, make_tenant, odoo)

    def unbuildable(*_: Any) -> Any:
        raise ConnectorProtocolError("odoo: the stored options cannot make a client")

    broken = dataclasses.replace(sync_deps, connector_factory=unbuildable)
    with pytest.raises(ConnectorProtocolError, match="cannot make a client"):
        await push_purchase_order(broken, tenant.claims(), None, connector, order["id"])
    assert await claims(owner_pool, order) == 0
    pushed = await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])
    assert pushed["external_id"] == str(made_for(odoo, order)[0]["id"])


async def claimed_ago(owner_pool: asyncpg.Pool, tenant: Any, connector: UUID, order: dict, seconds: int) -> None:
    """A claim left by a push whose process died ``seconds`` ago."""
    await owner_pool.execute(
        """INSERT INTO app.integration_push_claims (tenant_id, connector_id, purchase_order_id, claimed_at)
           VALUES ($1, $2, $3, now() - make_interval(secs => $4))""",
        tenant.id,
        connector,
        order["id"],
        seconds,
    )


async def test_a_dead_push_claim_lapses_a_minute_after_the_deadline(sync_deps, owner_pool, make_tenant, odoo):
    tenant, connector, order = await synced_draft(sync_deps, owner_pool, make_tenant, odoo)
    await claimed_ago(owner_pool, tenant, connector, order, 150)  # 120 s deadline + 60 s: still held
    with pytest.raises(ConflictError) as refused:
        await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"], deadline_s=120)
    assert refused.value.code == "push_in_progress"
    await owner_pool.execute("UPDATE app.integration_push_claims SET claimed_at = now() - interval '190 seconds'")
    pushed = await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"], deadline_s=120)
    assert pushed["external_id"] == str(made_for(odoo, order)[0]["id"])


async def test_an_edit_is_refused_while_the_claim_holds_and_taken_once_it_lapsed(
    sync_deps, owner_pool, make_tenant, odoo
):
    tenant, connector, order = await synced_draft(sync_deps, owner_pool, make_tenant, odoo)

    async def cancel(tx: Any) -> dict:
        return await purchasing.cancel_order(tx.conn, tx.tenant_id, order["id"])

    await claimed_ago(owner_pool, tenant, connector, order, 150)
    with pytest.raises(ConflictError, match="being pushed"):
        await sync_deps.database.run(tenant.claims(), None, cancel)
    await owner_pool.execute("UPDATE app.integration_push_claims SET claimed_at = now() - interval '190 seconds'")
    assert (await sync_deps.database.run(tenant.claims(), None, cancel))["status"] == "cancelled"
