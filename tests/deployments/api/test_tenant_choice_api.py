"""Which tenant a request acts on: the X-Tenant-Id header is the caller's choice (403 when not a member); the
token's ``app_metadata.tenant_id`` is only a hint, and a hint naming a tenant the user has left is no refusal."""

from __future__ import annotations

import pytest


async def test_a_stale_hint_falls_back_to_the_single_membership(http, make_tenant):
    # Before, a hint naming a tenant the user had left answered 403 "you are not a member of tenant B".
    home, left = await make_tenant(), await make_tenant()
    response = await http.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {home.token(home.planner, tenant_id=left.id)}"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["tenant_id"] == str(home.id)


async def test_a_stale_hint_with_several_memberships_asks_for_a_choice(http, make_tenant, owner_pool):
    home, second, left = await make_tenant(), await make_tenant(), await make_tenant()
    await owner_pool.execute(
        "INSERT INTO app.members (tenant_id, user_id, role) VALUES ($1, $2, 'viewer')", second.id, home.planner
    )
    response = await http.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {home.token(home.planner, tenant_id=left.id)}"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "tenant_required"
    assert sorted(response.json()["details"]["tenants"]) == sorted([str(home.id), str(second.id)])


async def test_a_hint_naming_one_of_several_memberships_chooses_it(http, make_tenant, owner_pool):
    home, second = await make_tenant(), await make_tenant()
    await owner_pool.execute(
        "INSERT INTO app.members (tenant_id, user_id, role) VALUES ($1, $2, 'viewer')", second.id, home.planner
    )
    response = await http.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {home.token(home.planner, tenant_id=second.id)}"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["tenant_id"] == str(second.id)


@pytest.mark.parametrize("with_hint", [False, True], ids=["no-hint", "hint-of-own-tenant"])
async def test_a_chosen_tenant_the_user_is_not_a_member_of_is_refused(http, make_tenant, with_hint):
    home, other = await make_tenant(), await make_tenant()
    token = home.token(home.planner, tenant_id=home.id) if with_hint else home.token(home.planner)
    response = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}", "X-Tenant-Id": str(other.id)})
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


async def test_the_header_wins_over_the_hint(http, make_tenant, owner_pool):
    home, second = await make_tenant(), await make_tenant()
    await owner_pool.execute(
        "INSERT INTO app.members (tenant_id, user_id, role) VALUES ($1, $2, 'viewer')", second.id, home.planner
    )
    token = home.token(home.planner, tenant_id=home.id)
    response = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}", "X-Tenant-Id": str(second.id)})
    assert response.status_code == 200
    assert response.json()["tenant_id"] == str(second.id)
