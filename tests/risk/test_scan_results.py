"""The early-warning job's stored results as the copilot reads them: a score is compared with the last scan's only
when both were weighted alike, and only for a supplier that scan observed."""

from __future__ import annotations

from datetime import UTC, datetime

from copilot import suggestions
from copilot.tools import run_tools
from risk import repository, service

# Weighted more on financial risk, a CCC credit rating scores about 9 points higher than under the default weights,
# still under the review threshold.
FINANCIAL_HEAVY = {"financial": 0.6, "operational": 0.4, "geographical": 0.0, "compliance": 0.0}


async def _scanned_then_reweighted(world, *, rescan: bool):
    """A supplier with a weak credit rating scanned under the default weights, then weighted more on financial
    risk (and scanned again when ``rescan``): the copilot's supplier_risk line and review suggestions for it."""
    supplier = await world.supplier("WEAK", credit_rating="CCC")
    today = datetime.now(UTC).date()
    store = service.ModelStore()
    await world.run(lambda tx: service.scan(tx, store, today), user=world.tenant.admin)
    await world.run(lambda tx: repository.put_weights(tx.conn, tx.tenant_id, tx.user_id, FINANCIAL_HEAVY))
    if rescan:
        await world.run(lambda tx: service.scan(tx, store, today), user=world.tenant.admin)

    async def read(tx):
        (risk,) = [r for r in await run_tools(tx, "What is the risk of WEAK?") if r.name == "supplier_risk"]
        found = await suggestions.review_suppliers(tx, today)
        return risk.lines, [s for s in found if s.supplier_id == str(supplier)]

    return await world.run(read, user=world.tenant.admin)


async def test_a_weights_change_since_the_last_scan_shows_no_trend_and_suggests_no_review_for_it(world):
    # Before, the copilot took the score under the new weights minus the last scan's under the old ones as a
    # rise: "last scan 39.79 (rising, +9.2)", and "Review supplier WEAK (WEAK)" as "up 9.2 since the last scan".
    (line,), reviews = await _scanned_then_reweighted(world, rescan=False)
    assert line.startswith("WEAK (WEAK): risk score ") and "last scan" not in line
    assert reviews == []


async def test_a_scan_after_a_weights_change_is_compared_again(world):
    (line,), _ = await _scanned_then_reweighted(world, rescan=True)
    assert "; last scan " in line and "(unchanged, +0.0)" in line


async def test_a_supplier_the_last_scan_skipped_while_deactivated_shows_no_trend_and_no_rise(world):
    # Before, a supplier deactivated before the last scan kept the score of the scan before: reactivated, its score
    # now minus that older one read as a rise since the last scan, "last scan 35.29 (rising, +7.0)", and a review.
    supplier = await world.supplier("BACK")
    today = datetime.now(UTC).date()
    store = service.ModelStore()
    await world.run(lambda tx: service.scan(tx, store, today), user=world.tenant.admin)
    await world.pool.execute("UPDATE app.suppliers SET active = false WHERE id = $1", supplier)
    await world.pool.execute(
        "INSERT INTO app.supplier_risk_profiles (tenant_id, supplier_id, credit_rating, days_payable) "
        "VALUES ($1, $2, 'CCC', 200)",
        world.tenant.id,
        supplier,
    )
    await world.run(lambda tx: service.scan(tx, store, today), user=world.tenant.admin)
    await world.pool.execute("UPDATE app.suppliers SET active = true WHERE id = $1", supplier)

    async def read(tx):
        (risk,) = [r for r in await run_tools(tx, "What is the risk of BACK?") if r.name == "supplier_risk"]
        return risk.lines, await suggestions.review_suppliers(tx, today)

    (line,), reviews = await world.run(read, user=world.tenant.admin)
    assert line.startswith("BACK (BACK): risk score ") and "last scan" not in line
    assert reviews == []
