"""A push past its ERP deadline answers 503 erp_timeout, saying the ERP may still be creating the order (not "did
not accept"), with Retry-After when its claim lapses; the route gives the push the configured deadline."""

from __future__ import annotations

from typing import Any

from deployments.api.routes import integrations as route
from integrations.push import PushDeadlineError, PushOutcomeUnknownError
from tests.deployments.api.test_connectors_api import a_draft_order_of
from tests.deployments.erp_bodies import odoo_body


async def push_a_draft(http: Any, make_tenant: Any) -> Any:
    """The answer to pushing a new tenant's draft order to an Odoo connector (the push function itself is replaced)."""
    tenant = await make_tenant()
    order_id = await a_draft_order_of(http, tenant)
    created = await http.post(
        "/api/v1/integrations/connectors", json=odoo_body("http://127.0.0.1:1"), headers=tenant.admin_headers()
    )
    path = f"/api/v1/integrations/connectors/{created.json()['id']}/purchase-orders/{order_id}/push"
    return await http.post(path, headers=tenant.headers())


async def test_a_push_past_its_deadline_is_a_503_erp_timeout_retried_when_its_claim_lapses(
    http, make_tenant, monkeypatch
):
    """Until 2026-12-07 it said Retry-After: 1, and a client that obeyed pushed while the ERP was still creating
    the order, which then made it twice."""
    given: dict[str, Any] = {}

    async def past_its_deadline(*args: Any, deadline_s: float) -> dict:
        given["deadline_s"] = deadline_s
        raise PushDeadlineError(
            "odoo: the ERP did not answer within 120 s and may still be creating the order",
            details={"deadline_s": 120.0, "retry_after_s": 61},
        )

    monkeypatch.setattr(route, "push_purchase_order", past_its_deadline)
    response = await push_a_draft(http, make_tenant)
    assert (response.status_code, response.json()["code"], given) == (503, "erp_timeout", {"deadline_s": 120.0})
    assert response.json()["message"].endswith("may still be creating the order")
    assert response.headers["retry-after"] == "61"


async def test_a_push_whose_create_may_have_been_applied_is_a_503_retried_when_its_claim_lapses(
    http, make_tenant, monkeypatch
):
    """A dropped connection or a gateway's 502/504 during the create: until 2026-12-07 503 erp_error, "did not
    accept", with Retry-After: 1, though the ERP may have made the order."""

    async def connection_lost(*args: Any, deadline_s: float) -> dict:
        raise PushOutcomeUnknownError(
            "odoo: connection lost during POST /jsonrpc (RemoteProtocolError); not retried because the request may "
            "have been applied; the ERP may have made the order",
            details={"deadline_s": 120.0, "retry_after_s": 180},
        )

    monkeypatch.setattr(route, "push_purchase_order", connection_lost)
    response = await push_a_draft(http, make_tenant)
    assert (response.status_code, response.json()["code"]) == (503, "erp_outcome_unknown")
    assert "did not accept" not in response.json()["message"]
    assert response.headers["retry-after"] == "180"
