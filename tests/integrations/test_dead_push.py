"""A push whose process died during the ERP call: the ERP made the order, Chainsight never linked it, and the order
was cancelled here once the dead push's claim had lapsed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from common.errors import ConflictError
from integrations.push import push_purchase_order
from integrations.sync import SyncDeps, run_sync
from inventory import purchasing
from tests.integrations.conftest import (
    bare_tenant,
    draft_order,
    lapse_push_claim,
    odoo_connector,
    order_numbers,
    sap_tenant,
)
from tests.support.fakes.base import FakeServer, Request
from tests.support.fakes.odoo import FakeOdoo, populate


@pytest.fixture
def odoo() -> Iterator[FakeOdoo]:
    with FakeOdoo() as fake:
        populate(fake)
        yield fake


async def pushed_by_a_dead_process(
    sync_deps: SyncDeps,
    owner_pool: asyncpg.Pool,
    tenant: Any,
    connector: UUID,
    order: dict,
    fake: FakeServer,
    creates: Callable[[Request], bool],
) -> None:
    """Push ``order``: the ERP makes it (with the Chainsight number) and no answer comes back; the process is taken
    to have died there, leaving its claim (it keeps it anyway: the ERP may have made the order), since lapsed, and no
    link. Then the order is cancelled here. ``creates`` tells the ERP's create request."""
    fake.lose_answer_to(creates)
    with pytest.raises(Exception, match="connection"):
        await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])
    fake.heal()
    await lapse_push_claim(owner_pool, order)

    async def cancel(tx: Any) -> dict:
        return await purchasing.cancel_order(tx.conn, tx.tenant_id, order["id"])

    await sync_deps.database.run(tenant.claims(), None, cancel)


async def state(owner_pool: asyncpg.Pool, connector: UUID, order: dict) -> tuple[str, str | None, list[str]]:
    """The order's status, the ERP id it is linked to, and the connector's open dead letters' errors."""
    status = await owner_pool.fetchval("SELECT status FROM app.purchase_orders WHERE id = $1", order["id"])
    linked = await owner_pool.fetchval(
        "SELECT external_id FROM app.integration_external_ids WHERE connector_id = $1 AND local_id = $2",
        connector,
        order["id"],
    )
    errors = await owner_pool.fetch(
        """SELECT error FROM app.integration_dead_letters
           WHERE connector_id = $1 AND entity = 'purchase_orders' AND resolved_at IS NULL""",
        connector,
    )
    return status, linked, [row["error"] for row in errors]


async def odoo_order_after_a_dead_push(
    sync_deps: SyncDeps, owner_pool: asyncpg.Pool, make_tenant: Any, odoo: FakeOdoo
) -> tuple[Any, UUID, dict, dict]:
    tenant = await bare_tenant(owner_pool, make_tenant)
    connector = await odoo_connector(sync_deps, tenant, odoo.url)
    await run_sync(sync_deps, tenant.id, connector)
    order = await draft_order(sync_deps, tenant, "V001", "WH", [("SKU-000002", 3, None, "2")])
    await pushed_by_a_dead_process(
        sync_deps, owner_pool, tenant, connector, order, odoo, lambda r: b'"create"' in r.body
    )
    origin = f"Chainsight {order['number']}"
    (made,) = [o for o in odoo.models["purchase.order"].values() if o.get("origin") == origin]
    return tenant, connector, order, made


async def test_an_erp_draft_of_a_cancelled_order_is_linked_and_reported_not_imported(
    sync_deps, owner_pool, make_tenant, odoo
):
    tenant, connector, order, made = await odoo_order_after_a_dead_push(sync_deps, owner_pool, make_tenant, odoo)
    before = await order_numbers(owner_pool, tenant.id)
    run = await run_sync(sync_deps, tenant.id, connector)
    status, linked, errors = await state(owner_pool, connector, order)
    assert (await order_numbers(owner_pool, tenant.id), status, linked) == (before, "cancelled", str(made["id"]))
    assert run["counts"]["purchase_orders"]["created"] == 0
    assert errors == [
        f"ERP order {made['name']} is open for purchase order {order['number']}, which is cancelled in Chainsight: "
        "cancel it in the ERP (a cancelled order is not reopened here)"
    ]
    with pytest.raises(ConflictError, match=f"already in erp as '{made['id']}'"):
        await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])


async def test_the_report_stays_until_the_erp_order_is_cancelled_there(sync_deps, owner_pool, make_tenant, odoo):
    tenant, connector, order, made = await odoo_order_after_a_dead_push(sync_deps, owner_pool, make_tenant, odoo)
    odoo.put("purchase.order", {"state": "purchase"}, made["id"])  # confirmed in Odoo meanwhile
    await run_sync(sync_deps, tenant.id, connector)
    odoo.put("purchase.order", {"note": "edited"}, made["id"])  # read again, still open
    await run_sync(sync_deps, tenant.id, connector)
    status, linked, errors = await state(owner_pool, connector, order)
    assert (status, linked, [e.split(",")[0] for e in errors]) == (
        "cancelled",
        str(made["id"]),
        [f"ERP order {made['name']} is open for purchase order {order['number']}"],
    )
    odoo.put("purchase.order", {"state": "cancel"}, made["id"])
    await run_sync(sync_deps, tenant.id, connector)
    assert await state(owner_pool, connector, order) == ("cancelled", str(made["id"]), [])


async def test_a_sap_order_of_a_cancelled_order_is_linked_and_reported_not_imported(
    sync_deps, owner_pool, make_tenant, sap
):
    tenant, connector = await sap_tenant(sync_deps, owner_pool, make_tenant, sap)
    await run_sync(sync_deps, tenant.id, connector)
    order = await draft_order(sync_deps, tenant, "100001", "WH-1", [("MAT000003", 2, None, "6")])
    await pushed_by_a_dead_process(sync_deps, owner_pool, tenant, connector, order, sap, lambda r: r.method == "POST")
    before = await order_numbers(owner_pool, tenant.id)
    await run_sync(sync_deps, tenant.id, connector)
    (made,) = [
        o for o in sap.sets["A_PurchaseOrder"].values() if o.get("CorrespncInternalReference") == order["number"]
    ]
    status, linked, errors = await state(owner_pool, connector, order)
    assert (await order_numbers(owner_pool, tenant.id), status, linked) == (before, "cancelled", made["PurchaseOrder"])
    assert [e.split(":")[0] for e in errors] == [
        f"ERP order {made['PurchaseOrder']} is open for purchase order {order['number']}, which is cancelled in "
        "Chainsight"
    ]
