"""Fan-out of PostgreSQL notifications to the WebSockets connected to this replica.

One dedicated connection per process LISTENs on ``chainsight_events``; every replica has its own, so
an event committed anywhere reaches every dashboard. Each message names its tenant and is handed only to
subscribers of that tenant. Started on the first subscription, closed with the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import asyncpg

from inventory.events import CHANNEL

logger = logging.getLogger(__name__)
QUEUE_SIZE = 1000


class EventHub:
    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self._subscribers: dict[UUID, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)

    async def _ensure_listening(self) -> None:
        async with self._lock:
            if self._conn is not None and not self._conn.is_closed():
                return
            conn = await asyncpg.connect(self._dsn)
            await conn.add_listener(CHANNEL, self._deliver)
            self._conn = conn

    def _deliver(self, _conn: Any, _pid: int, _channel: str, payload: object) -> None:
        try:
            message = json.loads(str(payload))
            tenant_id = UUID(message["tenant_id"])
        except (ValueError, KeyError, TypeError):
            logger.warning("ignoring a malformed event payload")
            return
        for queue in tuple(self._subscribers.get(tenant_id, ())):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                logger.warning("a dashboard is not keeping up; dropping an event for tenant %s", tenant_id)

    @contextlib.asynccontextmanager
    async def subscribe(self, tenant_id: UUID) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        await self._ensure_listening()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers[tenant_id].add(queue)
        try:
            yield queue
        finally:
            self._subscribers[tenant_id].discard(queue)
            if not self._subscribers[tenant_id]:
                del self._subscribers[tenant_id]

    async def close(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()
        self._conn = None
