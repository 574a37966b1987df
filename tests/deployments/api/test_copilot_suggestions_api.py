"""GET /ai/copilot/suggestions in process: the first ``limit`` suggestions and whether there are more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.copilot.live_rows import add_order, add_products_below_their_minimum, add_supplier

COPILOT = "/api/v1/ai/copilot"


async def test_the_suggestions_say_there_are_more_and_lead_with_the_overdue_order(http, make_tenant, owner_pool):
    # Before, 20 reorders came back with nothing to say 6 more and an order 30 days late existed.
    tenant = await make_tenant()
    today = datetime.now(UTC).date()  # the caller's date: UTC without a profile
    async with owner_pool.acquire() as conn:
        late = await add_supplier(conn, tenant, "ZZ-LATE", "Zeta Late Supplier")
        _, number = await add_order(conn, tenant, late, today - timedelta(days=30), [(0, 10, 1)])
        await add_products_below_their_minimum(conn, tenant, await add_supplier(conn, tenant, "AA-1", "Alpha"), 25)
    first = (await http.get(f"{COPILOT}/suggestions", headers=tenant.headers())).json()
    assert (len(first["items"]), first["more"]) == (20, True)
    assert first["items"][0]["title"] == f"Expedite {number} from ZZ-LATE to WH-0"
    every = await http.get(f"{COPILOT}/suggestions", params={"limit": 26}, headers=tenant.headers())
    assert every.status_code == 200, every.text
    assert (len(every.json()["items"]), every.json()["more"]) == (26, False)
