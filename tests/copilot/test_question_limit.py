"""The copilot's per-user question limit under concurrency, against the real database."""

from __future__ import annotations

import asyncio

import pytest

from common.errors import RateLimitedError
from copilot import conversations


async def test_concurrent_questions_cannot_exceed_the_per_minute_limit(database, make_tenant):
    tenant = await make_tenant()

    async def ask(tx):
        await conversations.check_rate_limit(tx.conn, tx.tenant_id, 5)
        conversation = await conversations.start(tx.conn, tx.tenant_id, "q")
        await asyncio.sleep(0.2)  # retrieval and tools run here: every request's window overlaps the others'
        await conversations.add_message(tx.conn, tx.tenant_id, conversation["id"], "user", "q")

    outcomes = await asyncio.gather(
        *[database.run(tenant.claims(), None, ask) for _ in range(15)], return_exceptions=True
    )
    refused = [o for o in outcomes if isinstance(o, RateLimitedError)]
    assert sum(o is None for o in outcomes) == 5, outcomes
    assert len(refused) == 10
    with pytest.raises(RateLimitedError):
        await database.run(tenant.claims(), None, ask)
