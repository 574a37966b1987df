"""A connector's dead letters (in process): every one its status counts is reachable through the cursor."""

from __future__ import annotations

from tests.deployments.erp_bodies import odoo_body


async def connector_with_dead_letters(http, tenant, owner_pool, open_count: int) -> str:
    created = await http.post(
        "/api/v1/integrations/connectors", json=odoo_body("http://127.0.0.1:1"), headers=tenant.admin_headers()
    )
    assert created.status_code == 201, created.text
    connector = created.json()["id"]
    # One statement: all seen at the same time, so only the id orders them across pages; and one resolved.
    await owner_pool.execute(
        """INSERT INTO app.integration_dead_letters (tenant_id, connector_id, entity, external_id, error, resolved_at)
           SELECT $1, $2, 'products', n::text, 'bad row', CASE WHEN n = 0 THEN now() END
           FROM generate_series(0, $3) n""",
        tenant.id,
        connector,
        open_count,
    )
    return connector


async def all_pages(http, tenant, path: str, **params) -> list[dict]:
    items: list[dict] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = await http.get(path, params=query, headers=tenant.headers())
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


async def test_all_201_open_dead_letters_the_status_counts_are_listed_over_the_pages(http, make_tenant, owner_pool):
    # Before, the list stopped at 200 (its largest limit) with no cursor, while the status counted 201.
    tenant = await make_tenant()
    connector = await connector_with_dead_letters(http, tenant, owner_pool, 201)
    path = f"/api/v1/integrations/connectors/{connector}"
    status = (await http.get(path, headers=tenant.headers())).json()
    letters = await all_pages(http, tenant, f"{path}/dead-letters", limit=200)
    assert len({d["external_id"] for d in letters}) == len(letters) == status["open_dead_letters"] == 201


async def test_resolved_dead_letters_are_paged_with_the_open_ones_when_asked_for(http, make_tenant, owner_pool):
    tenant = await make_tenant()
    connector = await connector_with_dead_letters(http, tenant, owner_pool, 3)
    path = f"/api/v1/integrations/connectors/{connector}/dead-letters"
    letters = await all_pages(http, tenant, path, limit=2, include_resolved="true")
    assert sorted(d["external_id"] for d in letters) == ["0", "1", "2", "3"]


async def test_a_dead_letter_seen_again_during_a_walk_is_still_listed_once(http, make_tenant, owner_pool):
    # Before, the list was sorted by last_seen_at, which every sync that meets the record again moves: a letter
    # not yet listed jumped ahead of the cursor and the walk never reached it.
    tenant = await make_tenant()
    connector = await connector_with_dead_letters(http, tenant, owner_pool, 4)
    await owner_pool.execute(
        "UPDATE app.integration_dead_letters SET first_seen_at = now() - make_interval(hours => external_id::int),"
        " last_seen_at = now() - make_interval(hours => external_id::int) WHERE connector_id = $1",
        connector,
    )
    path = f"/api/v1/integrations/connectors/{connector}/dead-letters"
    first = await http.get(path, params={"limit": 1}, headers=tenant.headers())
    listed = [d["external_id"] for d in first.json()["items"]]
    await owner_pool.execute(
        "UPDATE app.integration_dead_letters SET last_seen_at = now() + interval '1 minute', attempts = attempts + 1"
        " WHERE connector_id = $1 AND external_id = '4'",
        connector,
    )
    rest = await all_pages(http, tenant, path, limit=1, cursor=first.json()["next_cursor"])
    listed += [d["external_id"] for d in rest]
    assert sorted(listed) == ["1", "2", "3", "4"]
