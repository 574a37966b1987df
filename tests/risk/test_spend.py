"""A supplier's share of the tenant's spend and of products it alone supplies, against the real database."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from risk import repository
from risk.spend import spend_shares
from tests.risk.conftest import TODAY, RiskWorld

ISSUED = TODAY - timedelta(days=30)
DUE = TODAY - timedelta(days=20)


async def shares(world: RiskWorld, *suppliers: uuid.UUID) -> list[tuple[float | None, float | None]]:
    """The shares the supplier score is given (``risk.repository.supplier_facts``)."""
    found = await world.run(lambda tx: repository.supplier_facts(tx.conn, TODAY))
    return [(found[s][1].spend_share, found[s][1].single_sourced_share) for s in suppliers]


async def test_an_order_without_an_expected_date_is_spend_and_a_second_source(world):
    dated, undated = await world.supplier("DATED"), await world.supplier("UNDATED")
    await world.open_order(dated, issued=ISSUED, expected=DUE, unit_price=Decimal(2))  # 20 EUR
    await world.open_order(undated, issued=ISSUED, expected=None, unit_price=Decimal(6))  # 60 EUR
    assert await shares(world, dated, undated) == [(pytest.approx(0.25), 0.0), (pytest.approx(0.75), 0.0)]


async def test_an_order_an_erp_received_before_any_sync_is_spend_and_a_second_source(world):
    open_one, received = await world.supplier("OPEN"), await world.supplier("RECEIVED")
    await world.open_order(open_one, issued=ISSUED, expected=DUE, unit_price=Decimal(2))  # 20 EUR
    order = await world.open_order(received, issued=ISSUED, expected=DUE, unit_price=Decimal(6))  # 60 EUR
    async with world.pool.acquire() as conn:
        # Received in full with no receipt of Chainsight's and no sync that saw it arrive (no erp_received_at).
        await conn.execute(
            "UPDATE app.purchase_order_lines SET received_base = quantity_base WHERE purchase_order_id = $1", order
        )
        await conn.execute(
            "UPDATE app.purchase_orders SET status = 'received', origin = 'erp:odoo' WHERE id = $1", order
        )
    assert await shares(world, open_one, received) == [(pytest.approx(0.25), 0.0), (pytest.approx(0.75), 0.0)]


async def test_drafts_cancelled_orders_and_lines_closed_with_nothing_received_are_no_spend(world):
    buyer, other = await world.supplier("BOUGHT"), await world.supplier("OTHER")
    await world.open_order(buyer, issued=ISSUED, expected=DUE, unit_price=Decimal(2))  # 20 EUR, the only purchase
    await world.open_order(other, issued=ISSUED, expected=DUE, unit_price=Decimal(6), status="draft")
    await world.open_order(other, issued=ISSUED, expected=DUE, unit_price=Decimal(6), status="cancelled")
    closed = await world.open_order(other, issued=ISSUED, expected=DUE, unit_price=Decimal(6))
    async with world.pool.acquire() as conn:
        await conn.execute(
            "UPDATE app.purchase_order_lines SET cancelled_base = quantity_base WHERE purchase_order_id = $1", closed
        )
    found = await world.run(lambda tx: spend_shares(tx.conn, TODAY))
    assert (found[buyer]["spend_share"], found[buyer]["single_sourced_share"], other in found) == (1.0, 1.0, False)
