"""An ERP's purchase order is issued here when the ERP placed it, not when a sync first saw it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from integrations.sync import run_sync
from tests.integrations.conftest import (
    bare_tenant,
    bc_tenant,
    completed_run,
    configure,
    odoo_connector,
    push_draft,
    sap_tenant,
)
from tests.support.fakes.netsuite import FakeNetSuite, rsa_key, signing_key_pem
from tests.support.fakes.netsuite import populate as populate_netsuite
from tests.support.fakes.odoo import FakeOdoo, populate

ISSUED = """SELECT po.number, po.issued_at, w.timezone FROM app.purchase_orders po
            JOIN app.warehouses w ON w.id = po.warehouse_id
            WHERE po.tenant_id = $1 AND po.issued_at IS NOT NULL ORDER BY po.number"""


@pytest.fixture
def odoo() -> Iterator[FakeOdoo]:
    with FakeOdoo() as fake:
        populate(fake)
        yield fake


async def odoo_tenant(sync_deps, owner_pool, make_tenant, fake: FakeOdoo) -> tuple[Any, Any]:
    tenant = await bare_tenant(owner_pool, make_tenant)
    return tenant, await odoo_connector(sync_deps, tenant, fake.url, api_key="odoo-key")


async def issued(owner_pool, tenant_id) -> dict[str, datetime]:
    return {r["number"]: r["issued_at"] for r in await owner_pool.fetch(ISSUED, tenant_id)}


async def price_dates(owner_pool, tenant_id, number: str) -> set[tuple[date, datetime]]:
    rows = await owner_pool.fetch(
        """SELECT h.observed_on, h.observed_at FROM app.risk_price_history h
           JOIN app.purchase_order_lines l ON l.id = h.purchase_order_line_id
           JOIN app.purchase_orders po ON po.id = l.purchase_order_id
           WHERE po.tenant_id = $1 AND po.number = $2""",
        tenant_id,
        number,
    )
    return {(r["observed_on"], r["observed_at"]) for r in rows}


async def test_an_odoo_order_confirmed_before_its_first_sync_is_issued_at_its_confirmation(
    sync_deps, owner_pool, make_tenant, odoo
):
    # Until 2026-12-07 it was issued when the sync first saw it: its prices dated late, its lead time short.
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    await completed_run(sync_deps, tenant, connector)
    confirmed = datetime(2026, 1, 21, 8, tzinfo=UTC)  # date_approve, UTC as Odoo keeps it
    assert await issued(owner_pool, tenant.id) == {"P00002": confirmed}
    assert await price_dates(owner_pool, tenant.id, "P00002") == {(date(2026, 1, 21), confirmed)}


async def test_an_odoo_draft_confirmed_between_two_syncs_is_issued_at_its_confirmation(
    sync_deps, owner_pool, make_tenant, odoo
):
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    await completed_run(sync_deps, tenant, connector)
    draft = next(r for r in odoo.models["purchase.order"].values() if r["name"] == "P00001")
    odoo.put("purchase.order", {"state": "purchase", "date_approve": "2026-11-30 16:45:00"}, draft["id"])
    await run_sync(sync_deps, tenant.id, connector)
    assert (await issued(owner_pool, tenant.id))["P00001"] == datetime(2026, 11, 30, 16, 45, tzinfo=UTC)


async def test_an_order_made_here_and_confirmed_in_odoo_is_not_dated_by_odoo(sync_deps, owner_pool, make_tenant, odoo):
    tenant, connector = await odoo_tenant(sync_deps, owner_pool, make_tenant, odoo)
    await completed_run(sync_deps, tenant, connector)
    order, pushed = await push_draft(sync_deps, tenant, connector, "V001", "WH", [("SKU-000002", 10, None, "2")])
    odoo.put("purchase.order", {"state": "purchase", "date_approve": "2026-01-02 00:00:00"}, int(pushed["external_id"]))
    before = datetime.now(UTC)
    await run_sync(sync_deps, tenant.id, connector)
    row = await owner_pool.fetchrow("SELECT status, issued_at FROM app.purchase_orders WHERE id = $1", order["id"])
    assert row["status"] == "issued" and row["issued_at"] >= before  # the sync that saw it confirmed


async def test_a_business_central_order_date_is_the_receiving_warehouses_day(sync_deps, owner_pool, make_tenant, bc):
    tenant, connector = await bc_tenant(sync_deps, owner_pool, make_tenant, bc)
    await completed_run(sync_deps, tenant, connector)
    await owner_pool.execute("UPDATE app.warehouses SET timezone = 'Asia/Tokyo' WHERE tenant_id = $1", tenant.id)
    first = next(o for o in bc.tables["purchaseOrders"].values() if o["number"] == "106901")
    copy = {k: v for k, v in first.items() if k not in ("id", "lastModifiedDateTime")}
    bc.put("purchaseOrders", {**copy, "number": "106950", "orderDate": "2026-01-05"})
    await run_sync(sync_deps, tenant.id, connector)
    tokyo_midnight = datetime(2026, 1, 4, 15, tzinfo=UTC)
    assert (await issued(owner_pool, tenant.id))["106950"] == tokyo_midnight
    assert await price_dates(owner_pool, tenant.id, "106950") == {(date(2026, 1, 5), tokyo_midnight)}


async def test_a_sap_purchase_order_date_is_the_receiving_warehouses_day(sync_deps, owner_pool, make_tenant, sap):
    tenant, connector = await sap_tenant(sync_deps, owner_pool, make_tenant, sap)
    await owner_pool.execute("UPDATE app.warehouses SET timezone = 'America/New_York' WHERE tenant_id = $1", tenant.id)
    await run_sync(sync_deps, tenant.id, connector)
    dates = await issued(owner_pool, tenant.id)
    assert dates and set(dates.values()) == {datetime(2026, 1, 20, 5, tzinfo=UTC)}  # PurchaseOrderDate 2026-01-20


async def test_a_netsuite_transaction_date_is_the_receiving_warehouses_day(sync_deps, owner_pool, make_tenant):
    key = rsa_key()
    with FakeNetSuite(public_key=key.public_key()) as fake:
        populate_netsuite(fake)
        tenant = await bare_tenant(owner_pool, make_tenant)
        credentials = {"client_id": "ns-client", "certificate_id": "cert-1", "private_key": signing_key_pem(key)}
        mapping = {"units": {"Each": "each", "Kilogram": "kg"}}
        connector = await configure(
            sync_deps, tenant, kind="netsuite", base_url=fake.url, credentials=credentials, mapping=mapping
        )
        await run_sync(sync_deps, tenant.id, connector)
    rows = await owner_pool.fetch(ISSUED, tenant.id)
    assert rows and {r["issued_at"] for r in rows} == {
        datetime(2026, 1, 20, tzinfo=ZoneInfo(r["timezone"] or "UTC")) for r in rows
    }  # trandate 2026-01-20


async def test_a_business_central_draft_released_later_is_issued_when_the_sync_saw_it_released(
    sync_deps, owner_pool, make_tenant, bc
):
    # Until 2026-12-07 it took its orderDate, the day the draft was made: its lead time counted the approval wait.
    tenant, connector = await bc_tenant(sync_deps, owner_pool, make_tenant, bc)
    await completed_run(sync_deps, tenant, connector)
    draft = next(o for o in bc.tables["purchaseOrders"].values() if o["number"] == "106900")
    bc.put("purchaseOrders", {"status": "Open"}, draft["id"])
    before = datetime.now(UTC)
    await run_sync(sync_deps, tenant.id, connector)
    assert (await issued(owner_pool, tenant.id))["106900"] >= before


async def test_an_order_issued_at_its_first_sync_before_the_erp_dates_is_redated_though_unchanged(
    sync_deps, owner_pool, make_tenant, bc
):
    # Until 2026-12-07 an unchanged order was never redated: the lead-time history kept its sync times.
    tenant, connector = await bc_tenant(sync_deps, owner_pool, make_tenant, bc)
    await completed_run(sync_deps, tenant, connector)
    await owner_pool.execute(  # as the sync before the ERP's dates left it: issued when it was first recorded
        "UPDATE app.purchase_orders SET issued_at = created_at WHERE tenant_id = $1 AND number = '106901'", tenant.id
    )
    first = next(o for o in bc.tables["purchaseOrders"].values() if o["number"] == "106901")
    bc.put("purchaseOrders", {}, first["id"])  # read again, nothing in it changed
    await run_sync(sync_deps, tenant.id, connector)
    assert (await issued(owner_pool, tenant.id))["106901"] == datetime(2026, 1, 20, tzinfo=UTC)
