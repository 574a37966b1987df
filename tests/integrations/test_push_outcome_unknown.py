"""A push whose create may have been applied in the ERP with no answer saying so (the connection dropped during it,
a gateway's 502/504, the caller gone mid-call) keeps its claim until it lapses, as a push past its deadline does;
a refusal the ERP answered still releases it at once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator

import pytest

from common.errors import ConflictError, ServiceUnavailableError
from integrations.errors import ConnectorError
from integrations.push import push_purchase_order
from tests.integrations.test_push_deadline import claims, made_for, synced_draft
from tests.support.fakes.base import Request, Response
from tests.support.fakes.odoo import FakeOdoo, populate


def creates(request: Request) -> bool:
    return b'"create"' in request.body


class GatewayOdoo(FakeOdoo):
    """An Odoo behind a proxy that gives up on the request ``gateway_gives_up_on`` matches: Odoo does the work, the
    proxy answers ``gateway_status``."""

    gateway_gives_up_on: Callable[[Request], bool] | None = None
    gateway_status = 502

    def __init__(self) -> None:
        super().__init__()
        self.create_arrived = threading.Event()

    def _respond(self, request: Request) -> Response | None:
        if creates(request):  # before a slow_down's wait
            self.create_arrived.set()
        return super()._respond(request)

    def handle(self, request: Request) -> Response:
        response = super().handle(request)
        with self.lock:
            if self.gateway_gives_up_on is not None and self.gateway_gives_up_on(request):
                self.gateway_gives_up_on = None
                return Response(self.gateway_status, "Bad Gateway")
        return response


@pytest.fixture
def odoo() -> Iterator[GatewayOdoo]:
    with GatewayOdoo() as fake:
        populate(fake)
        yield fake


async def refused_until_the_claim_lapses(sync_deps, owner_pool, tenant, connector, order, odoo) -> None:
    """A push meanwhile is 409 push_in_progress; once the claim has lapsed (aged here), a push finds the order the
    ERP made and links it, and the ERP holds one order."""
    assert await claims(owner_pool, order) == 1
    with pytest.raises(ConflictError) as refused:
        await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])
    assert refused.value.code == "push_in_progress"
    (made,) = made_for(odoo, order)
    await owner_pool.execute("UPDATE app.integration_push_claims SET claimed_at = now() - interval '181 seconds'")
    pushed = await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])
    assert (pushed["external_id"], len(made_for(odoo, order)), await claims(owner_pool, order)) == (
        str(made["id"]),
        1,
        0,
    )


async def outcome_unknown(sync_deps, tenant, connector, order) -> ServiceUnavailableError:
    with pytest.raises(ServiceUnavailableError) as raised:
        await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])
    assert raised.value.code == "erp_outcome_unknown"
    assert "may have made the order" in raised.value.message
    # Retry-After: until the claim lapses, the deadline (120 s) plus a minute after the claim.
    assert 179 <= raised.value.details["retry_after_s"] <= 181
    return raised.value


async def test_a_connection_dropped_during_the_create_keeps_the_claim_until_it_lapses(
    sync_deps, owner_pool, make_tenant, odoo
):
    """Until 2026-12-07 the claim went at once with 503 erp_error and Retry-After: 1, and Odoo (or any ERP a push
    that cannot look the order up) could make the order twice."""
    tenant, connector, order = await synced_draft(sync_deps, owner_pool, make_tenant, odoo)
    odoo.lose_answer_to(creates)  # Odoo creates it; the answer never comes
    error = await outcome_unknown(sync_deps, tenant, connector, order)
    assert "connection lost during POST" in error.message
    await refused_until_the_claim_lapses(sync_deps, owner_pool, tenant, connector, order, odoo)


@pytest.mark.parametrize("status", [502, 504])
async def test_a_gateways_answer_to_the_create_keeps_the_claim_until_it_lapses(
    sync_deps, owner_pool, make_tenant, odoo, status
):
    tenant, connector, order = await synced_draft(sync_deps, owner_pool, make_tenant, odoo)
    odoo.gateway_gives_up_on, odoo.gateway_status = creates, status
    error = await outcome_unknown(sync_deps, tenant, connector, order)
    assert f"HTTP {status} from a gateway" in error.message
    await refused_until_the_claim_lapses(sync_deps, owner_pool, tenant, connector, order, odoo)


async def test_a_push_cancelled_during_the_create_keeps_the_claim_until_it_lapses(
    sync_deps, owner_pool, make_tenant, odoo
):
    """A caller that disconnects cancels the push; until 2026-12-07 that released the claim while Odoo was still
    making the order."""
    tenant, connector, order = await synced_draft(sync_deps, owner_pool, make_tenant, odoo)
    odoo.slow_down(creates, 1.0)
    push = asyncio.create_task(push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"]))
    assert await asyncio.to_thread(odoo.create_arrived.wait, 5)
    push.cancel()
    with pytest.raises(asyncio.CancelledError):
        await push
    assert await claims(owner_pool, order) == 1
    await asyncio.sleep(1.5)  # Odoo has made the order by now
    await refused_until_the_claim_lapses(sync_deps, owner_pool, tenant, connector, order, odoo)


async def test_a_refusal_the_erp_answered_still_releases_the_claim_at_once(sync_deps, owner_pool, make_tenant, odoo):
    tenant, connector, order = await synced_draft(sync_deps, owner_pool, make_tenant, odoo)
    odoo.answer_next("/jsonrpc", Response(400, "Bad Request"))
    with pytest.raises(ConnectorError) as raised:
        await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])
    assert raised.value.code != "erp_outcome_unknown"
    assert await claims(owner_pool, order) == 0
