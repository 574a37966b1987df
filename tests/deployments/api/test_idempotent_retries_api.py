"""Retries with an Idempotency-Key (in process): every write of stock or documents replays its first answer, a
refusal the operation made included; what a retry may get past (a 503, validation, another body) is not kept."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from common.errors import (
    ConflictError,
    DatabaseUnavailableError,
    DomainError,
    ExpiredValueError,
    InsufficientStockError,
    InvalidInputError,
    NotFoundError,
    NumberTakenMeanwhileError,
    PermissionDeniedError,
    RateLimitedError,
)
from deployments.api.idempotent import kept_refusal
from inventory import reservations

API = "/api/v1"


def keyed(tenant, name: str) -> dict[str, str]:
    return {**tenant.headers(), "Idempotency-Key": f"{name}-{uuid.uuid4()}"}


async def level(http, tenant) -> dict:
    found = await http.get(f"{API}/stock-levels/{tenant.products[0]}/{tenant.warehouses[0]}", headers=tenant.headers())
    return dict(found.json())


def hold_of(tenant, quantity: int) -> dict:
    return {"product_id": str(tenant.products[0]), "warehouse_id": str(tenant.warehouses[0]), "quantity": quantity}


def shipment_body(tenant) -> dict:
    return {"direction": "outbound", "warehouse_id": str(tenant.warehouses[0]), "carrier": "DHL",
            "tracking_number": f"TRK-{uuid.uuid4().hex[:8]}",
            "lines": [{"product_id": str(tenant.products[0]), "quantity": 3}]}  # fmt: skip


async def twice(http, path: str, headers: dict, json: dict | None = None) -> tuple:
    first = await http.post(path, json=json, headers=headers)
    again = await http.post(path, json=json, headers=headers)
    return first, again


def assert_replayed(first, again, status: int) -> None:
    assert (first.status_code, again.status_code) == (status, status), (first.text, again.text)
    assert (first.headers.get("Idempotent-Replayed"), again.headers.get("Idempotent-Replayed")) == (None, "true")
    assert again.json() == first.json()


async def test_a_retried_delivery_replays_its_answer_and_issues_stock_once(http, make_tenant):
    # Before, the key was ignored: the retry of a delivery that had succeeded got 409 shipment_delivered.
    tenant = await make_tenant(stock={0: Decimal(10)})
    created, again = await twice(http, f"{API}/shipments", keyed(tenant, "ship"), shipment_body(tenant))
    assert_replayed(created, again, 201)
    listed = await http.get(f"{API}/shipments", headers=tenant.headers())
    assert [s["id"] for s in listed.json()["items"]] == [created.json()["id"]]
    path = f"{API}/shipments/{created.json()['id']}/events"
    delivered, again = await twice(http, path, keyed(tenant, "deliver"), {"type": "delivered"})
    assert_replayed(delivered, again, 201)
    assert delivered.json()["status"] == "delivered"
    assert (await level(http, tenant))["on_hand"] == 7.0
    issued, again = await twice(http, f"{API}/shipments/{created.json()['id']}/issue-stock", keyed(tenant, "issue"))
    assert_replayed(issued, again, 200)


async def test_retried_purchase_order_changes_replay_their_answer(http, make_tenant):
    # Before, a retried issue or cancel of an order that had gone through got 409 invalid_state, a retried line
    # removal 404.
    tenant = await make_tenant()
    supplier = await http.post(f"{API}/suppliers", json={"code": "S-1", "name": "S"}, headers=tenant.headers())
    lines = [{"product_id": str(p), "quantity": 2, "unit_price": 1} for p in tenant.products[:2]]
    body = {"supplier_id": supplier.json()["id"], "warehouse_id": str(tenant.warehouses[0]), "lines": lines}
    order = (await http.post(f"{API}/purchase-orders", json=body, headers=tenant.headers())).json()
    path = f"{API}/purchase-orders/{order['id']}"
    line_path = f"{path}/lines/{order['lines'][1]['id']}"
    headers = keyed(tenant, "unline")
    removed, again = await http.delete(line_path, headers=headers), await http.delete(line_path, headers=headers)
    assert_replayed(removed, again, 200)
    issued, again = await twice(http, f"{path}/issue", keyed(tenant, "issue"))
    assert_replayed(issued, again, 200)
    cancelled, again = await twice(http, f"{path}/cancel", keyed(tenant, "cancel"))
    assert_replayed(cancelled, again, 200)
    assert cancelled.json()["status"] == "cancelled"


async def test_a_retried_order_of_the_reorder_proposals_replays_the_drafts_it_made(http, make_tenant):
    tenant = await make_tenant()
    supplier = await http.post(f"{API}/suppliers", json={"code": "S-1", "name": "S"}, headers=tenant.headers())
    rule = {"product_id": str(tenant.products[0]), "warehouse_id": str(tenant.warehouses[0]),
            "supplier_id": supplier.json()["id"], "min_quantity": 10, "max_quantity": 20}  # fmt: skip
    assert (await http.post(f"{API}/reorder-rules", json=rule, headers=tenant.headers())).status_code == 201
    priced = await http.patch(f"{API}/products/{tenant.products[0]}", json={"unit_cost": 2}, headers=tenant.headers())
    assert priced.status_code == 200, priced.text
    ordered, again = await twice(http, f"{API}/reorder-proposals/purchase-orders", keyed(tenant, "reorder"), {})
    assert_replayed(ordered, again, 201)
    assert len(ordered.json()["purchase_orders"]) == 1


async def test_a_refused_hold_is_replayed_under_its_key_and_a_new_key_applies(http, make_tenant):
    # Before, the refusal rolled the key back with the hold: once stock came in, the same request placed a hold.
    tenant = await make_tenant()
    headers = keyed(tenant, "hold")
    refused = await http.post(f"{API}/reservations", json=hold_of(tenant, 5), headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (409, "insufficient_stock"), refused.text
    receipt = {"type": "receipt", **hold_of(tenant, 5)}
    assert (await http.post(f"{API}/stock-movements", json=receipt, headers=tenant.headers())).status_code == 201
    again = await http.post(f"{API}/reservations", json=hold_of(tenant, 5), headers=headers)
    assert_replayed(refused, again, 409)
    assert (await level(http, tenant))["reserved"] == 0.0
    other = await http.post(f"{API}/reservations", json=hold_of(tenant, 4), headers=headers)
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    fresh = await http.post(f"{API}/reservations", json=hold_of(tenant, 5), headers=keyed(tenant, "hold"))
    assert fresh.status_code == 201, fresh.text
    assert (await level(http, tenant))["reserved"] == 5.0


async def test_concurrent_duplicates_of_a_refused_request_all_get_the_one_refusal(http, make_tenant):
    tenant = await make_tenant()
    headers = keyed(tenant, "hold")
    answers = await asyncio.gather(
        *(http.post(f"{API}/reservations", json=hold_of(tenant, 5), headers=headers) for _ in range(6))
    )
    assert {(a.status_code, a.json()["code"]) for a in answers} == {(409, "insufficient_stock")}
    assert sorted(a.headers.get("Idempotent-Replayed") or "" for a in answers) == ["", *["true"] * 5]


async def test_a_503_is_not_kept_under_the_key_and_the_retry_applies(http, make_tenant, monkeypatch):
    tenant = await make_tenant(stock={0: Decimal(5)})
    create = reservations.create_reservation
    failures = [DatabaseUnavailableError("the database is unavailable; retry shortly")]

    async def unavailable_once(*args: object) -> dict:
        if failures:
            raise failures.pop()
        return await create(*args)

    monkeypatch.setattr(reservations, "create_reservation", unavailable_once)
    headers = keyed(tenant, "hold")
    first, again = await twice(http, f"{API}/reservations", headers, hold_of(tenant, 5))
    assert (first.status_code, first.json()["code"]) == (503, "database_unavailable")
    assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (201, None), again.text
    assert (await level(http, tenant))["reserved"] == 5.0


async def test_a_validation_refusal_is_not_kept_under_the_key(http, make_tenant, owner_pool):
    tenant = await make_tenant(stock={0: Decimal(5)})
    headers = keyed(tenant, "hold")
    past = {**hold_of(tenant, 2), "expires_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()}
    refused = await http.post(f"{API}/reservations", json=past, headers=headers)
    assert refused.status_code == 422, refused.text
    kept = await owner_pool.fetchval(
        "SELECT count(*) FROM app.idempotency_keys WHERE key = $1", headers["Idempotency-Key"]
    )
    assert kept == 0


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InsufficientStockError("short"), 409),
        (ConflictError("closed", code="shipment_delivered"), 409),
        (NotFoundError("no such shipment"), 404),
        (InvalidInputError("bad unit"), 400),
        (ConflictError("being pushed", code="push_in_progress"), None),
        (NumberTakenMeanwhileError("taken meanwhile"), None),
        (DatabaseUnavailableError("down"), None),
        (RateLimitedError("slow down"), None),
        (PermissionDeniedError("read-only"), None),
        (ExpiredValueError("expires_at must be in the future"), None),
    ],
)
def test_only_refusals_a_retry_cannot_get_past_are_kept(error: DomainError, status: int | None):
    kept = kept_refusal(error)
    assert (kept.status_code if kept else None) == status
    if kept is not None:
        assert kept.body == {"code": error.code, "message": error.message, "details": None}
