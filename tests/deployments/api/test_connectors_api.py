"""ERP connectors (in process): admin-only configuration, secrets never returned, schedules, and credentials
asked again when a connector moves. Syncs run as Ray tasks: tests/deployments/test_integrations_api.py."""

from __future__ import annotations

import uuid

import pytest

from tests.deployments.erp_bodies import odoo_body
from tests.support.fakes.netsuite import rsa_key, signing_key_pem


@pytest.mark.parametrize(
    ("who", "body", "status", "code"),
    [
        ("planner", odoo_body("http://127.0.0.1:1"), 403, "forbidden"),
        ("admin", odoo_body("http://127.0.0.1:1", kind="netsuite"), 422, "validation_error"),  # no certificate
        (
            "admin",
            odoo_body(
                "http://127.0.0.1:1",
                kind="netsuite",
                credentials={"client_id": "c", "certificate_id": "k", "private_key": "not a PEM key"},
            ),
            422,
            "validation_error",
        ),
        ("admin", odoo_body("http://127.0.0.1:1", credentials={"username": "x"}), 422, "validation_error"),
        ("admin", odoo_body("ftp://nowhere"), 422, "validation_error"),
        # Passed the pattern, then no sync could open it and its runs stayed "running" (a push: a 500).
        ("admin", odoo_body("http://127.0.0.1:80x"), 422, "validation_error"),
        # Passed the URL checks, then the resolver refused the empty label and a push was a 500.
        ("admin", odoo_body("https://a..b/"), 422, "validation_error"),
        ("admin", odoo_body("http://127.0.0.1:99999"), 422, "validation_error"),
        (  # an option no HTTP client can open was never checked: every push was a 500
            "admin",
            odoo_body(
                "https://erp.example.com",
                kind="dynamics",
                options={"token_url": "http://x:80x/t", "company_id": "c"},
                credentials={"client_id": "c", "client_secret": "s"},
            ),
            422,
            "validation_error",
        ),
        ("admin", odoo_body("http://127.0.0.1:1", mapping={"units": {"Units": 3}}), 422, "validation_error"),
        ("admin", odoo_body("http://127.0.0.1:1", options={}), 422, "validation_error"),
    ],
)
async def test_malformed_or_unauthorised_configuration_is_a_4xx(http, make_tenant, who, body, status, code):
    tenant = await make_tenant()
    headers = tenant.admin_headers() if who == "admin" else tenant.headers()
    response = await http.post("/api/v1/integrations/connectors", json=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


async def test_a_netsuite_connector_is_configured_and_its_private_key_never_returned(http, make_tenant):
    tenant = await make_tenant()
    pem = signing_key_pem(rsa_key())
    body = odoo_body(
        "https://123456.suitetalk.api.netsuite.com",
        name="netsuite-main",
        kind="netsuite",
        options={},
        credentials={"client_id": "ns-client", "certificate_id": "cert-1", "private_key": pem},
        mapping={"units": {"Each": "each"}},
    )
    created = await http.post("/api/v1/integrations/connectors", json=body, headers=tenant.admin_headers())
    assert created.status_code == 201, created.text
    assert created.json()["kind"] == "netsuite" and "PRIVATE KEY" not in created.text
    listed = await http.get("/api/v1/integrations/connectors", headers=tenant.headers())
    assert [c["kind"] for c in listed.json()] == ["netsuite"] and "PRIVATE KEY" not in listed.text


async def test_unknown_connector_and_run_are_404(http, make_tenant):
    tenant = await make_tenant()
    missing = "00000000-0000-0000-0000-000000000000"
    for path in (f"connectors/{missing}", f"runs/{missing}", f"connectors/{missing}/dead-letters"):
        response = await http.get(f"/api/v1/integrations/{path}", headers=tenant.headers())
        assert response.status_code == 404, (path, response.text)
    response = await http.post(f"/api/v1/integrations/connectors/{missing}/sync", headers=tenant.headers())
    assert response.status_code == 404


async def test_a_sync_schedule_is_set_kept_changed_and_cleared_through_the_api(http, make_tenant):
    tenant = await make_tenant()
    created = await http.post(
        "/api/v1/integrations/connectors",
        json=odoo_body("http://127.0.0.1:1", sync_interval_minutes=60),
        headers=tenant.admin_headers(),
    )
    assert created.status_code == 201, created.text
    assert created.json()["sync_interval_minutes"] == 60
    path = f"/api/v1/integrations/connectors/{created.json()['id']}"
    status = (await http.get(path, headers=tenant.headers())).json()
    assert status["sync_interval_minutes"] == 60 and status["next_sync_at"] is not None  # never ran: due now

    async def patch(body: dict) -> dict:
        response = await http.patch(path, json=body, headers=tenant.admin_headers())
        assert response.status_code == 200, response.text
        return response.json()

    assert (await patch({"enabled": True}))["sync_interval_minutes"] == 60  # left out: kept
    assert (await patch({"sync_interval_minutes": 1440}))["sync_interval_minutes"] == 1440
    assert (await patch({"sync_interval_minutes": None}))["sync_interval_minutes"] is None  # null: manual only
    status = (await http.get(path, headers=tenant.headers())).json()
    assert status["sync_interval_minutes"] is None and status["next_sync_at"] is None


@pytest.mark.parametrize("interval", [0, 4, 10081, -60, 2.5, "hourly"])
async def test_a_sync_interval_outside_5_minutes_to_a_week_is_a_422_and_changes_nothing(http, make_tenant, interval):
    tenant = await make_tenant()
    refused = await http.post(
        "/api/v1/integrations/connectors",
        json=odoo_body("http://127.0.0.1:1", sync_interval_minutes=interval),
        headers=tenant.admin_headers(),
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "validation_error" and "sync_interval_minutes" in refused.text
    created = await http.post(
        "/api/v1/integrations/connectors",
        json=odoo_body("http://127.0.0.1:1", sync_interval_minutes=30),
        headers=tenant.admin_headers(),
    )
    path = f"/api/v1/integrations/connectors/{created.json()['id']}"
    response = await http.patch(path, json={"sync_interval_minutes": interval}, headers=tenant.admin_headers())
    assert response.status_code == 422, response.text
    assert (await http.get(path, headers=tenant.headers())).json()["sync_interval_minutes"] == 30
    listed = await http.get("/api/v1/integrations/connectors", headers=tenant.headers())
    assert [c["name"] for c in listed.json()] == ["odoo-main"]


async def test_moving_a_connector_needs_its_credentials_again(http, make_tenant):
    tenant = await make_tenant()
    body = odoo_body("https://erp.example.com", name="odoo-ssrf")
    created = await http.post("/api/v1/integrations/connectors", json=body, headers=tenant.admin_headers())
    path = f"/api/v1/integrations/connectors/{created.json()['id']}"
    moved = await http.patch(path, json={"base_url": "https://attacker.example.net"}, headers=tenant.admin_headers())
    assert moved.status_code == 400, moved.text
    assert moved.json()["code"] == "credentials_required"
    with_secrets = {"base_url": "https://erp2.example.com", "credentials": body["credentials"]}
    assert (await http.patch(path, json=with_secrets, headers=tenant.admin_headers())).status_code == 200


async def test_replacing_credentials_or_options_needs_the_whole_set_the_kind_requires(http, make_tenant):
    # Before, {"credentials": {"api_key": ...}} erased the stored username (the next sync failed), and
    # {"options": {}} dropped Odoo's database; both were a 200.
    tenant = await make_tenant()
    body = odoo_body("https://erp.example.com", name="odoo-partial")
    created = await http.post("/api/v1/integrations/connectors", json=body, headers=tenant.admin_headers())
    path = f"/api/v1/integrations/connectors/{created.json()['id']}"
    for change in ({"credentials": {"api_key": "k2"}}, {"options": {}}):
        refused = await http.patch(path, json=change, headers=tenant.admin_headers())
        assert (refused.status_code, refused.json()["code"]) == (400, "invalid_connector"), refused.text
    whole = {"credentials": {**body["credentials"], "api_key": "k2"}}
    assert (await http.patch(path, json=whole, headers=tenant.admin_headers())).status_code == 200


async def test_a_connector_whose_actor_writes_only_in_another_tenant_shows_no_next_sync(http, make_tenant, owner_pool):
    # Before, the acting member's admin role in another tenant counted: they saw a next sync here that every other
    # member saw as null and the scheduler never claimed.
    tenant, other = await make_tenant(), await make_tenant()
    created = await http.post(
        "/api/v1/integrations/connectors",
        json=odoo_body("http://127.0.0.1:1", sync_interval_minutes=60),
        headers=tenant.admin_headers(),
    )
    assert created.status_code == 201, created.text
    await owner_pool.execute(
        "INSERT INTO app.members (tenant_id, user_id, role) VALUES ($1, $2, 'admin')", other.id, tenant.admin
    )
    await owner_pool.execute(
        "UPDATE app.members SET role = 'viewer' WHERE tenant_id = $1 AND user_id = $2", tenant.id, tenant.admin
    )
    path = f"/api/v1/integrations/connectors/{created.json()['id']}"
    as_actor = await http.get(path, headers={**tenant.admin_headers(), "X-Tenant-Id": str(tenant.id)})
    assert as_actor.status_code == 200, as_actor.text
    assert as_actor.json()["next_sync_at"] is None


async def a_draft_order_of(http, tenant) -> str:
    supplier = await http.post("/api/v1/suppliers", json={"code": "S-1", "name": "S"}, headers=tenant.headers())
    line = {"product_id": str(tenant.products[0]), "quantity": 1, "unit_price": 1}
    body = {"supplier_id": supplier.json()["id"], "warehouse_id": str(tenant.warehouses[0]), "lines": [line]}
    created = await http.post("/api/v1/purchase-orders", json={**body, "currency": "EUR"}, headers=tenant.headers())
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


@pytest.mark.parametrize("whose", ["no one's", "another tenant's"])
async def test_pushing_an_order_the_tenant_does_not_have_is_a_404(http, make_tenant, whose):
    # Until 2026-12-07 the push's claim was written first and its foreign key refused the order: a 500.
    tenant = await make_tenant()
    order_id = await a_draft_order_of(http, await make_tenant()) if whose != "no one's" else str(uuid.uuid4())
    created = await http.post(
        "/api/v1/integrations/connectors", json=odoo_body("http://127.0.0.1:1"), headers=tenant.admin_headers()
    )
    path = f"/api/v1/integrations/connectors/{created.json()['id']}/purchase-orders/{order_id}/push"
    response = await http.post(path, headers=tenant.headers())
    assert (response.status_code, response.json()["code"]) == (404, "unknown_purchase_order"), response.text
