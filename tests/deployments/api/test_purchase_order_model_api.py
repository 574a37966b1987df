"""Purchase orders against a model of them (in process): generated orders with a line in the product's unit and
one in a packaging unit of a generated size, a generated over-receipt tolerance, then generated receipts (several
items per line, concurrent bursts), backorder write-offs and cancellations. After every step the order's status
and each line's received and outstanding quantities equal the model's, a refused step is a 4xx that changes
nothing, and the stock level grows by exactly what was received."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

QUANTUM = Decimal("0.0001")
QUANTITIES = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(60), places=4)
ITEMS = st.lists(st.tuples(st.integers(0, 1), QUANTITIES), min_size=1, max_size=3)
STEP = st.one_of(
    st.tuples(st.just("receive"), ITEMS, st.booleans()),  # True: write off what is still missing
    st.tuples(st.just("burst"), st.lists(ITEMS, min_size=2, max_size=5), st.just(False)),
    st.tuples(st.just("cancel"), st.none(), st.just(False)),
)


def to_base(quantity: Decimal, factor: Decimal) -> Decimal:
    return (quantity * factor).quantize(QUANTUM, rounding=ROUND_HALF_UP)


@dataclass
class OrderModel:
    ordered: list[Decimal]  # per line, in the product's unit
    factors: list[Decimal]
    tolerance: Decimal
    status: str = "issued"
    on_hand: Decimal = Decimal(0)
    ordered_units: list[Decimal] = field(default_factory=list)  # per line, in the ordered unit

    def __post_init__(self) -> None:
        self.received = [Decimal(0)] * len(self.ordered)
        self.cancelled = [Decimal(0)] * len(self.ordered)
        self.received_ordered_unit = [Decimal(0)] * len(self.ordered)

    def bases(self, items: list[tuple[int, Decimal]]) -> list[Decimal]:
        """Each item in the product's unit, on its own; the one completing its line (in the ordered unit) books
        what is left of the line's converted figure."""
        running, booked, found = list(self.received_ordered_unit), list(self.received), []
        for line, quantity in items:
            base = to_base(quantity, self.factors[line])
            running[line] += quantity
            if base > 0 and running[line] == self.ordered_units[line] and self.ordered[line] > booked[line]:
                base = self.ordered[line] - booked[line]
            booked[line] += base
            found.append(base)
        return found

    def refusal(self, items: list[tuple[int, Decimal]]) -> str | None:
        """Why a receipt of ``items`` is refused, or None when it is accepted."""
        if self.status not in ("issued", "partially_received"):
            return "invalid_state"
        incoming = [Decimal(0)] * len(self.ordered)
        for (line, _), base in zip(items, self.bases(items), strict=True):
            if base <= 0:
                return "too_small"
            incoming[line] += base
        for line, quantity in enumerate(incoming):
            allowed = (self.ordered[line] * (1 + self.tolerance / 100)).quantize(QUANTUM)
            if quantity and self.received[line] + quantity > allowed:
                return "over_receipt"
        return None

    def receive(self, items: list[tuple[int, Decimal]], close_backorder: bool) -> None:
        for (line, quantity), base in zip(items, self.bases(items), strict=True):
            self.received[line] += base
            self.received_ordered_unit[line] += quantity
            self.on_hand += base
        if close_backorder:
            self.cancelled = [max(o - r, Decimal(0)) for o, r in zip(self.ordered, self.received, strict=True)]
        outstanding = any(r + c < o for o, r, c in zip(self.ordered, self.received, self.cancelled, strict=True))
        self.status = "partially_received" if outstanding else "received"


async def new_order(http: httpx.AsyncClient, tenant: Any, quantities: list[Decimal], factor: Decimal, tolerance):
    headers = tenant.headers()
    product, warehouse = str(tenant.products[0]), str(tenant.warehouses[0])
    conversion = await http.put(
        f"/api/v1/products/{product}/uom-conversions/box", json={"factor": str(factor)}, headers=tenant.admin_headers()
    )
    assert conversion.status_code == 200, conversion.text
    code = f"S-{uuid.uuid4().hex[:8]}"
    supplier = await http.post("/api/v1/suppliers", json={"code": code, "name": "Supplier"}, headers=headers)
    assert supplier.status_code == 201, supplier.text
    lines = [
        {"product_id": product, "quantity": str(quantities[0]), "unit_price": 1},
        {"product_id": product, "quantity": str(quantities[1]), "uom": "box", "unit_price": 1},
    ]
    body = {
        "supplier_id": supplier.json()["id"],
        "warehouse_id": warehouse,
        "over_receipt_tolerance_pct": str(tolerance),
        "lines": lines,
    }
    created = await http.post("/api/v1/purchase-orders", json=body, headers=headers)
    assert created.status_code == 201, created.text
    issued = await http.post(f"/api/v1/purchase-orders/{created.json()['id']}/issue", headers=headers)
    assert issued.status_code == 200, issued.text
    return issued.json()


async def check(http: httpx.AsyncClient, tenant: Any, order_id: str, line_ids: list[str], model: OrderModel) -> None:
    headers = tenant.headers()
    order = (await http.get(f"/api/v1/purchase-orders/{order_id}", headers=headers)).json()
    assert order["status"] == model.status, order
    by_id = {line["id"]: line for line in order["lines"]}
    for index, line_id in enumerate(line_ids):
        line = by_id[line_id]
        assert Decimal(str(line["received_base"])) == model.received[index], (index, line)
        assert Decimal(str(line["cancelled_base"])) == model.cancelled[index], (index, line)
        expected_backorder = max(model.ordered[index] - model.received[index] - model.cancelled[index], Decimal(0))
        expected_backorder *= model.status != "cancelled"  # nothing more comes on a cancelled order
        assert Decimal(str(line["backorder_base"])) == expected_backorder, (index, line)
    level = await http.get(f"/api/v1/stock-levels/{tenant.products[0]}/{tenant.warehouses[0]}", headers=headers)
    assert Decimal(str(level.json()["on_hand"])) == model.on_hand


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    quantities=st.lists(st.decimals(min_value=Decimal(1), max_value=Decimal(40), places=2), min_size=2, max_size=2),
    factor=st.decimals(min_value=Decimal("0.001"), max_value=Decimal(24), places=3),
    tolerance=st.decimals(min_value=Decimal(0), max_value=Decimal(25), places=2),
    steps=st.lists(STEP, min_size=1, max_size=12),
)
async def test_every_order_follows_the_receiving_model_and_refusals_change_nothing(
    http, make_tenant, quantities, factor, tolerance, steps
):
    tenant = await make_tenant()
    headers = tenant.headers()
    order = await new_order(http, tenant, quantities, factor, tolerance)
    order_id, line_ids = order["id"], [line["id"] for line in sorted(order["lines"], key=lambda line: line["line_no"])]
    model = OrderModel([to_base(quantities[0], Decimal(1)), to_base(quantities[1], factor)], [Decimal(1), factor],
                       tolerance, ordered_units=list(quantities))  # fmt: skip
    path = f"/api/v1/purchase-orders/{order_id}"

    def receipt(items: list[tuple[int, Decimal]], close_backorder: bool) -> dict[str, Any]:
        lines = [{"line_id": line_ids[line], "quantity": str(quantity)} for line, quantity in items]
        return {"lines": lines, "close_backorder": close_backorder}

    for kind, items, close_backorder in steps:
        if kind == "cancel":
            response = await http.post(f"{path}/cancel", headers=headers)
            if model.status == "issued":
                assert response.status_code == 200, response.text
                model.status = "cancelled"
            else:
                assert (response.status_code, response.json()["code"]) == (409, "invalid_state"), response.text
        elif kind == "receive":
            refusal = model.refusal(items)
            response = await http.post(f"{path}/receipts", json=receipt(items, close_backorder), headers=headers)
            if refusal is None:
                assert response.status_code == 201, response.text
                model.receive(items, close_backorder)
            else:
                assert response.status_code in (400, 409), response.text
                assert response.json()["code"] == refusal, response.text
        else:  # concurrent receipts: together the accepted ones fit, and each refusal still holds afterwards
            before = model.status
            responses = await asyncio.gather(
                *(http.post(f"{path}/receipts", json=receipt(burst, False), headers=headers) for burst in items)
            )
            accepted = [burst for burst, r in zip(items, responses, strict=True) if r.status_code == 201]
            if accepted:
                assert model.refusal([item for burst in accepted for item in burst]) is None, (accepted, model)
                for burst in accepted:
                    model.receive(burst, False)
            else:
                assert before not in ("issued", "partially_received") or all(model.refusal(b) for b in items)
            for burst, response in zip(items, responses, strict=True):
                if response.status_code != 201:
                    code = response.json()["code"]
                    assert code in ("over_receipt", "invalid_state", "too_small"), response.text
                    # Refused then, refused now: receipts only add, and a received order stays received.
                    assert model.refusal(burst) is not None, (burst, response.text, model)
        await check(http, tenant, order_id, line_ids, model)
