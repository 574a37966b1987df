"""The early-warning job (training in process, then the scan) on generated delivery histories and open orders:
it trains or says why not, never fails, and everything it reports is JSON (no NaN or infinity)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from risk import service
from risk.early_warning import run
from risk.pipeline import fit_in_process
from tests.risk.conftest import TODAY, RiskWorld

SUPPLIERS = 4
DELIVERY = st.tuples(
    st.integers(0, SUPPLIERS - 1),
    st.integers(-1000, 10),  # ordered, days from today
    st.integers(0, 300),  # promised lead time, days
    st.one_of(st.none(), st.integers(-5, 60), st.integers(-5, 3000)),  # delay (None: not delivered)
    st.sampled_from([Decimal("0.0001"), Decimal(1), Decimal("99999999999999")]),  # quantity
    st.sampled_from([Decimal(0), Decimal("0.0001"), Decimal("9999999999999")]),  # value
    st.sampled_from(["road", "sea", "air", "rail", None]),
)
OPEN_ORDER = st.tuples(
    st.integers(0, SUPPLIERS - 1),
    st.integers(-4000, 30),  # issued, days from today
    st.integers(-4000, 4000),  # expected, days from today
    st.sampled_from([Decimal(0), Decimal("0.0001"), Decimal("9999999999")]),  # unit price
)


def json_safe(value: object) -> None:
    json.dumps(value, allow_nan=False, default=str)


async def insert_deliveries(world: RiskWorld, suppliers: list, deliveries: list) -> None:
    rows = []
    for i, (supplier, ordered_in, lead, delay, quantity, value, mode) in enumerate(deliveries):
        ordered = TODAY + timedelta(days=ordered_in)
        promised = ordered + timedelta(days=lead)
        delivered = None if delay is None else max(ordered, promised + timedelta(days=delay))
        if delivered is not None and delivered > TODAY:
            delivered = None
        rows.append(
            (world.tenant.id, suppliers[supplier], mode, ordered, promised, delivered, quantity, value, f"g{i}")
        )
    async with world.pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO app.supplier_deliveries (tenant_id, supplier_id, shipment_mode, order_date, promised_date, "
            "delivered_date, quantity, value, import_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            rows,
        )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(deliveries=st.lists(DELIVERY, min_size=80, max_size=200), orders=st.lists(OPEN_ORDER, max_size=6))
async def test_the_job_trains_or_says_why_not_and_reports_json_on_any_history(
    make_tenant, owner_pool, database, deliveries, orders
):
    world = RiskWorld(await make_tenant(), owner_pool, database)
    suppliers = [await world.supplier(f"S{i}", "DE") for i in range(SUPPLIERS)]
    await insert_deliveries(world, suppliers, deliveries)
    for supplier, issued_in, expected_in, price in orders:
        await world.open_order(
            suppliers[supplier],
            issued=TODAY + timedelta(days=issued_in),
            expected=TODAY + timedelta(days=expected_in),
            unit_price=price,
        )
    async with owner_pool.acquire() as owner:
        (outcome,) = await run(database, owner, fit_in_process, tenants=[world.tenant.id], today=TODAY)
    assert "error" not in outcome, outcome["error"]
    assert outcome["training"]["trained"] or outcome["training"]["reason"]
    json_safe(outcome)
    json_safe(await world.run(lambda tx: service.rank_suppliers(tx, TODAY, limit=10)))
    for supplier in suppliers:
        json_safe(await world.run(lambda tx, s=supplier: service.assess_supplier(tx, s, TODAY)))
