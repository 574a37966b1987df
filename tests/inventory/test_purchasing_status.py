"""The purchase order life cycle: the paths it allows, and the event a user's action publishes."""

from __future__ import annotations

import pytest

from inventory import events
from inventory.purchasing_schemas import PurchaseOrderStatus as S
from inventory.purchasing_status import InvalidStateError, allowed_from, path, stamps_on_arrival
from tests.integrations.conftest import tap
from tests.inventory.test_purchasing import line, new_order


def test_a_jump_takes_the_fewest_steps_and_never_stops_at_partially_received():
    assert path("draft", S.RECEIVED) == [S.ISSUED, S.RECEIVED]
    assert path("draft", S.PARTIALLY_RECEIVED) == [S.ISSUED, S.PARTIALLY_RECEIVED]
    assert path("partially_received", S.RECEIVED) == [S.RECEIVED]
    assert path("issued", S.ISSUED) == []


@pytest.mark.parametrize(
    ("current", "target"),
    [("issued", S.DRAFT), ("received", S.ISSUED), ("cancelled", S.ISSUED), ("partially_received", S.CANCELLED)],
)
def test_moves_back_or_out_of_a_final_status_are_refused(current, target):
    with pytest.raises(InvalidStateError, match=f"is {current} and cannot become {target.value}"):
        path(current, target)


def test_actions_start_only_from_the_statuses_that_lead_to_them():
    assert allowed_from(S.ISSUED) == {S.DRAFT}
    assert allowed_from(S.CANCELLED) == {S.DRAFT, S.ISSUED}
    assert allowed_from(S.RECEIVED) == {S.ISSUED, S.PARTIALLY_RECEIVED}


def test_an_order_recorded_already_received_carries_the_issue_stamp_too():
    assert stamps_on_arrival(S.RECEIVED) == ["issued_at", "received_at"]
    assert stamps_on_arrival(S.DRAFT) == []


async def test_issuing_through_the_api_publishes_the_status_event(database, owner_pool, make_tenant):
    tenant = await make_tenant()
    async with tap(owner_pool, tenant.id) as published:
        order = await new_order(database, owner_pool, tenant, [line(tenant, 3)])
    assert [e["data"] for e in published if e["type"] == events.PURCHASE_ORDER_STATUS] == [
        {
            "purchase_order_id": str(order["id"]),
            "number": order["number"],
            "from": "draft",
            "to": "issued",
            "source": "api",
        }
    ]
