"""The stock ledger against a model of it (in process): generated sequences of receipts, issues, transfers,
adjustments and reservations (reserve, release, fulfil), some of them bursts of issues and holds sent at once.
After every step each level the API reports equals the model's, what the model refuses the API refuses with 409
and changes nothing, and at the end every level equals the sum of its ledger rows."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import TenantFixture

QUANTITIES = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(500), places=4)
PLACES = st.tuples(st.integers(0, 1), st.integers(0, 1))  # (product index, warehouse index)
STEP = st.one_of(
    st.tuples(st.just("receipt"), PLACES, QUANTITIES),
    st.tuples(st.just("issue"), PLACES, QUANTITIES),
    st.tuples(st.just("transfer"), PLACES, QUANTITIES),
    st.tuples(st.just("adjustment"), PLACES, QUANTITIES.map(lambda q: -q) | QUANTITIES),
    st.tuples(st.just("reserve"), PLACES, QUANTITIES),
    st.tuples(st.sampled_from(["release", "fulfil"]), st.integers(0, 7), st.none()),
    st.tuples(
        st.just("burst"),
        PLACES,
        st.lists(st.tuples(st.sampled_from(["issue", "reserve"]), QUANTITIES), min_size=2, max_size=6),
    ),
)


@dataclass
class LedgerModel:
    on_hand: dict[tuple[int, int], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    reserved: dict[tuple[int, int], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    reservations: list[tuple[str, tuple[int, int], Decimal]] = field(default_factory=list)
    closed: set[str] = field(default_factory=set)

    def available(self, place: tuple[int, int]) -> Decimal:
        return self.on_hand[place] - self.reserved[place]


class LedgerClient:
    def __init__(self, http: httpx.AsyncClient, tenant: TenantFixture) -> None:
        self.http, self.tenant, self.headers = http, tenant, tenant.headers()

    def ids(self, place: tuple[int, int]) -> tuple[str, str]:
        return str(self.tenant.products[place[0]]), str(self.tenant.warehouses[place[1]])

    async def move(self, kind: str, place: tuple[int, int], quantity: Decimal) -> httpx.Response:
        product, warehouse = self.ids(place)
        body: dict[str, Any] = {"type": kind, "product_id": product, "quantity": str(quantity)}
        if kind == "transfer":
            body |= {"from_warehouse_id": warehouse, "to_warehouse_id": str(self.tenant.warehouses[1 - place[1]])}
        else:
            body["warehouse_id"] = warehouse
        if kind == "adjustment":
            body["reason"] = "count"
        return await self.http.post("/api/v1/stock-movements", json=body, headers=self.headers)

    async def reserve(self, place: tuple[int, int], quantity: Decimal) -> httpx.Response:
        product, warehouse = self.ids(place)
        body = {"product_id": product, "warehouse_id": warehouse, "quantity": str(quantity)}
        return await self.http.post("/api/v1/reservations", json=body, headers=self.headers)

    async def close(self, action: str, reservation_id: str) -> httpx.Response:
        return await self.http.post(f"/api/v1/reservations/{reservation_id}/{action}", headers=self.headers)

    async def level(self, place: tuple[int, int]) -> tuple[Decimal, Decimal, Decimal]:
        product, warehouse = self.ids(place)
        response = await self.http.get(f"/api/v1/stock-levels/{product}/{warehouse}", headers=self.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        return Decimal(str(body["on_hand"])), Decimal(str(body["reserved"])), Decimal(str(body["available"]))


def expect(response: httpx.Response, accepted: bool, ok: int) -> None:
    if accepted:
        assert response.status_code == ok, response.text
    else:
        assert response.status_code == 409, response.text
        assert response.json()["code"] in ("insufficient_stock", "invalid_state"), response.text


async def apply(step: tuple[Any, Any, Any], model: LedgerModel, client: LedgerClient) -> list[tuple[int, int]]:
    """Send one step, check the API's answer against the model, update the model; the places it touched."""
    kind, where, amount = step
    if kind in ("release", "fulfil"):
        if not model.reservations:
            return []
        reservation_id, place, quantity = model.reservations[where % len(model.reservations)]
        open_before = reservation_id not in model.closed
        expect(await client.close(kind, reservation_id), open_before, 200)
        if open_before:
            model.closed.add(reservation_id)
            model.reserved[place] -= quantity
            if kind == "fulfil":
                model.on_hand[place] -= quantity
        return [place]
    place = where
    if kind == "burst":  # issues and holds on one level at once: the ones accepted must fit what was available
        before = model.available(place)
        responses = await asyncio.gather(
            *(client.reserve(place, q) if burst_kind == "reserve" else client.move("issue", place, q)
              for burst_kind, q in amount)
        )  # fmt: skip
        accepted = [(k, q, r) for (k, q), r in zip(amount, responses, strict=True) if r.status_code == 201]
        for response in responses:
            assert response.status_code in (201, 409), response.text
        taken = sum((q for _, q, _ in accepted), Decimal(0))
        assert taken <= before
        # No refusal while the request still fitted: a refused one is bigger than what was left at the end.
        left = before - taken
        assert all(q > left for (_, q), r in zip(amount, responses, strict=True) if r.status_code == 409)
        for burst_kind, quantity, response in accepted:
            if burst_kind == "reserve":
                model.reservations.append((response.json()["id"], place, quantity))
                model.reserved[place] += quantity
            else:
                model.on_hand[place] -= quantity
        return [place]
    if kind == "receipt" or (kind == "adjustment" and amount > 0):
        expect(await client.move(kind, place, amount), True, 201)
        model.on_hand[place] += amount
        return [place]
    if kind == "reserve":
        accepted = amount <= model.available(place)
        response = await client.reserve(place, amount)
        expect(response, accepted, 201)
        if accepted:
            model.reservations.append((response.json()["id"], place, amount))
            model.reserved[place] += amount
        return [place]
    taken = -amount if kind == "adjustment" else amount
    accepted = taken <= model.available(place)
    expect(await client.move(kind, place, amount), accepted, 201)
    if accepted:
        model.on_hand[place] -= taken
        if kind == "transfer":
            other = (place[0], 1 - place[1])
            model.on_hand[other] += taken
            return [place, other]
    return [place]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, min_size=1, max_size=25))
async def test_every_level_follows_the_ledger_model_and_refusals_change_nothing(http, make_tenant, owner_pool, steps):
    tenant = await make_tenant()
    model, client = LedgerModel(), LedgerClient(http, tenant)
    for step in steps:
        for place in await apply(step, model, client):
            assert await client.level(place) == (model.on_hand[place], model.reserved[place], model.available(place))
    async with owner_pool.acquire() as conn:
        ledger = await conn.fetch(
            "SELECT product_id, warehouse_id, sum(quantity) AS total FROM app.stock_movements "
            "WHERE tenant_id = $1 GROUP BY product_id, warehouse_id",
            tenant.id,
        )
    sums = {(r["product_id"], r["warehouse_id"]): r["total"] for r in ledger}
    for product in range(2):
        for warehouse in range(2):
            place = (product, warehouse)
            on_hand, reserved, available = await client.level(place)
            assert on_hand == sums.get((tenant.products[product], tenant.warehouses[warehouse]), Decimal(0))
            assert (on_hand, reserved) == (model.on_hand[place], model.reserved[place])
            assert available >= 0
