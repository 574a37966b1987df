"""Events stay under NOTIFY's 8000-byte limit, so a long message never fails the transaction announcing it."""

from __future__ import annotations

import asyncio
import json
import uuid

from inventory import events


async def test_an_event_with_a_20_kb_error_commits_and_arrives_clipped(owner_pool):
    received: asyncio.Queue[str] = asyncio.Queue()
    async with owner_pool.acquire() as listener, owner_pool.acquire() as conn:

        def collect(*args: object) -> None:
            received.put_nowait(str(args[3]))

        await listener.add_listener(events.CHANNEL, collect)
        tenant = uuid.uuid4()
        async with conn.transaction():
            await events.publish(conn, tenant, "integration.sync_failed", {"run_id": "r1", "error": "E" * 20_000})
        payload = None
        while payload is None or payload["tenant_id"] != str(tenant):
            payload = json.loads(await asyncio.wait_for(received.get(), timeout=5))
        await listener.remove_listener(events.CHANNEL, collect)
    assert payload["data"]["truncated"] is True
    assert payload["data"]["run_id"] == "r1"
    assert payload["data"]["error"].startswith("EEEE") and len(payload["data"]["error"]) < 2000


def test_an_event_with_many_long_fields_is_cut_to_its_identifiers():
    data = {"run_id": "r1", "count": 3, **{f"field{i}": "x" * 900 for i in range(20)}}
    encoded = events.encode(uuid.uuid4(), "integration.sync_failed", data)
    assert len(encoded.encode()) < 8000
    assert json.loads(encoded)["data"] == {"run_id": "r1", "count": 3, "truncated": True}
