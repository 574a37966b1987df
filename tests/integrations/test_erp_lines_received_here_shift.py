"""A line received only here (the ERP reports 0 received on it) that merely moves number when the ERP removes a line
above it: it is still the line it was. Until 2026-12-07 it was matched against what it had received here, which the
ERP never reports, so it was taken for removed: kept closed with the receipt, a duplicate written under the new
number, and a notice saying the ERP no longer had it."""

from __future__ import annotations

from decimal import Decimal as D

from integrations.sync import run_sync
from tests.integrations.conftest import bare_tenant, odoo_connector
from tests.integrations.test_erp_lines_with_receipts import (  # noqa: F401 (odoo is a fixture)
    notices,
    odoo,
    p00002,
    p00002_dead_letters,
    received_here,
    remove_line,
    rerun_changes_nothing,
)


async def test_a_line_received_only_here_that_moves_up_keeps_its_receipt_and_no_notice(
    sync_deps,
    owner_pool,
    make_tenant,
    odoo,  # noqa: F811 (the fixture imported above)
):
    tenant = await bare_tenant(owner_pool, make_tenant)
    connector = await odoo_connector(sync_deps, tenant, odoo.url)
    await run_sync(sync_deps, tenant.id, connector)
    await received_here(owner_pool, tenant, "SKU-000004", D(1))
    remove_line(odoo, "SKU-000003")  # SKU-000004 becomes Odoo's line 1, still 0 received there
    await run_sync(sync_deps, tenant.id, connector)
    assert await p00002_dead_letters(owner_pool, tenant, odoo) == []
    # one line, the receipt still on it; received_base is the ERP's own figure, 0
    assert await p00002(owner_pool, tenant) == [(1, False, "SKU-000004", D(6), D(0), D(0), D(1))]
    assert await notices(owner_pool, tenant) == []
    await rerun_changes_nothing(sync_deps, owner_pool, tenant, connector, odoo)
