"""A carrier's retry of an event is the same event however it is serialised; another event under its id is refused.
Until 2026-12-08 the raw bodies were compared: compact JSON, ``+00:00`` for ``Z`` or another key order was 409."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

from inventory.carrier_signatures import sign

WEBHOOK = "/api/v1/webhooks/carrier-events"


def at(hours_ago: int) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours_ago)


async def setup(http, tenant) -> tuple[dict, str, str]:
    key = await http.post("/api/v1/carrier-webhook-keys", json={"name": "UPS"}, headers=tenant.admin_headers())
    tracking = "1Z" + uuid.uuid4().hex[:10]
    body = {
        "direction": "inbound",
        "warehouse_id": str(tenant.warehouses[0]),
        "carrier": "UPS",
        "tracking_number": tracking,
    }
    created = await http.post("/api/v1/shipments", json=body, headers=tenant.headers())
    assert created.status_code == 201, created.text
    return key.json(), tracking, created.json()["id"]


async def post(http, key: dict, raw: bytes):
    stamp = str(int(time.time()))
    headers = {
        "X-Chainsight-Key-Id": key["id"],
        "X-Chainsight-Timestamp": stamp,
        "X-Chainsight-Signature": sign(key["secret"], stamp, raw),
        "Content-Type": "application/json",
    }
    return await http.post(WEBHOOK, content=raw, headers=headers)


async def test_a_retry_serialised_another_way_is_the_same_event_and_recorded_once(http, make_tenant):
    tenant = await make_tenant()
    key, tracking, shipment_id = await setup(http, tenant)
    when = at(3)
    event = {"carrier": "UPS", "tracking_number": tracking, "type": "in_transit", "event_id": "e1",
             "occurred_at": when.isoformat().replace("+00:00", "Z"), "location": "Köln hub"}  # fmt: skip
    first = await post(http, key, json.dumps(event).encode())
    assert (first.status_code, first.json()["recorded"]) == (200, True), first.text
    reordered = dict(reversed(list(event.items())))
    retries = [
        json.dumps(event, separators=(",", ":")).encode(),  # compact
        json.dumps({**event, "occurred_at": when.isoformat()}).encode(),  # +00:00 for Z
        json.dumps(reordered, ensure_ascii=False).encode(),  # another key order, UTF-8 unescaped
        json.dumps({**event, "occurred_at": when.astimezone(UTC).astimezone().isoformat()}).encode(),
        json.dumps(
            {**event, "occurred_at": (when + timedelta(hours=2)).isoformat().replace("+00:00", "+02:00")}
        ).encode(),
    ]
    for raw in retries:
        again = await post(http, key, raw)
        assert (again.status_code, again.json()["recorded"]) == (200, False), (raw, again.text)
    timeline = await http.get(f"/api/v1/shipments/{shipment_id}/events", headers=tenant.headers())
    assert [e["event_type"] for e in timeline.json() if e["source"] == "webhook"] == ["in_transit"]


async def test_another_event_under_a_used_id_is_still_refused(http, make_tenant):
    tenant = await make_tenant()
    key, tracking, _ = await setup(http, tenant)
    event = {"carrier": "UPS", "tracking_number": tracking, "type": "in_transit", "event_id": "e2",
             "occurred_at": at(3).isoformat(), "location": "Köln hub"}  # fmt: skip
    assert (await post(http, key, json.dumps(event).encode())).json()["recorded"] is True
    for changed in (
        {"location": "Bonn hub"},
        {"occurred_at": at(2).isoformat()},
        {"type": "delayed"},
        {"description": "late truck"},
    ):
        refused = await post(http, key, json.dumps({**event, **changed}).encode())
        assert (refused.status_code, refused.json()["code"]) == (409, "event_id_reused"), changed


async def test_a_delivery_recorded_by_its_raw_body_still_matches_the_same_bytes(http, make_tenant, owner_pool):
    # Records made before the change hold the raw body's digest (kept 30 days): a byte-identical retry still matches.
    tenant = await make_tenant()
    key, tracking, _ = await setup(http, tenant)
    raw = json.dumps({"carrier": "UPS", "tracking_number": tracking, "type": "picked_up", "event_id": "e3"}).encode()
    assert (await post(http, key, raw)).json()["recorded"] is True
    await owner_pool.execute(
        "UPDATE app.carrier_webhook_deliveries SET body_sha256 = $2 WHERE tenant_id = $1 AND event_id = 'e3'",
        tenant.id,
        hashlib.sha256(raw).hexdigest(),
    )
    again = await post(http, key, raw)
    assert (again.status_code, again.json()["recorded"]) == (200, False), again.text
