"""Certificate-expiry alert states of a deactivated supplier: the next scan clears them, a reactivation is judged
afresh, and a deactivation never waits for a scan's locks on them."""

from __future__ import annotations

import uuid
from datetime import timedelta

from common.database import TenantTransaction
from inventory import catalog
from inventory.catalog_schemas import SupplierUpdate
from risk import service
from tests.risk.conftest import TODAY, RiskWorld


async def _scan(world: RiskWorld) -> int:
    result = await world.run(lambda tx: service.scan(tx, service.ModelStore(), TODAY), user=world.tenant.admin)
    raised: int = result["alerts_raised"]["certification_expiry"]
    return raised


async def _set_active(world: RiskWorld, supplier: uuid.UUID, active: bool) -> None:
    """PATCH /suppliers/{id} {"active": ...} as the tenant's admin."""
    await world.run(
        lambda tx: catalog.update(tx.conn, catalog.SUPPLIERS, supplier, SupplierUpdate(active=active)),
        user=world.tenant.admin,
    )


async def _certificate_states(world: RiskWorld) -> set[uuid.UUID]:
    rows = await world.pool.fetch(
        "SELECT subject_id FROM app.risk_alert_state WHERE tenant_id = $1 AND kind = 'certification_expiry'",
        world.tenant.id,
    )
    return {r["subject_id"] for r in rows}


async def test_the_scan_after_a_supplier_is_deactivated_clears_its_certificate_expiry_alert_state(world):
    # Before 0158, the alert state of the retired supplier's certificate stayed up (active) after its deactivation.
    kept = await world.supplier("KEPT")
    retired = await world.supplier("RETIRED")
    kept_cert = await world.certification(kept, "ISO 9001", TODAY + timedelta(days=10))
    await world.certification(retired, "ISO 14001", TODAY + timedelta(days=10))
    assert await _scan(world) == 2

    await _set_active(world, retired, False)
    await _scan(world)

    assert await _certificate_states(world) == {kept_cert}


async def test_a_supplier_reactivated_with_an_expiring_certificate_is_alerted_again_by_the_next_scan(world):
    # Before, the state raised before the deactivation still stood once reactivated: no scan alerted anyone.
    supplier = await world.supplier("BACK")
    await world.certification(supplier, "ISO 9001", TODAY + timedelta(days=10))
    first = await _scan(world)
    await _set_active(world, supplier, False)
    while_inactive = await _scan(world)
    await _set_active(world, supplier, True)

    assert (first, while_inactive, await _scan(world)) == (1, 0, 1)


async def test_deactivating_suppliers_waits_for_no_certificate_alert_state_a_scan_holds(world):
    # Before, 0158's trigger on app.suppliers deleted the states of the deactivated suppliers' certificates, so an
    # ERP page deactivating several suppliers in one transaction waited for the scan, which holds each state it
    # observed until it commits, and took them in the opposite order: a deadlock.
    first, second = await world.supplier("FIRST"), await world.supplier("SECOND")
    first_cert = await world.certification(first, "ISO 9001", TODAY + timedelta(days=10))
    await world.certification(second, "ISO 14001", TODAY + timedelta(days=10))
    assert await _scan(world) == 2

    async def deactivate_both(tx: TenantTransaction) -> None:
        await tx.conn.execute("SET LOCAL lock_timeout = '500ms'")
        for supplier in (second, first):
            await catalog.update(tx.conn, catalog.SUPPLIERS, supplier, SupplierUpdate(active=False))

    async with world.pool.acquire() as scan, scan.transaction():  # as alerts.observe locks a state
        await scan.execute(
            "SELECT active FROM app.risk_alert_state WHERE tenant_id = $1 AND kind = 'certification_expiry' "
            "AND subject_id = $2 FOR UPDATE",
            world.tenant.id,
            first_cert,
        )
        await world.run(deactivate_both, user=world.tenant.admin)

    inactive = await world.pool.fetchval(
        "SELECT count(*) FROM app.suppliers WHERE id = ANY($1::uuid[]) AND NOT active", [first, second]
    )
    assert inactive == 2
