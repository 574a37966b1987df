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


# Sent to every socket once listening resumes after the connection was lost, and to a socket whose queue filled up
# (a dashboard not keeping up): what was committed meanwhile was not seen, so a dashboard re-reads what it shows.
RESYNC = {"type": "resync", "message": "events may have been missed; re-read"}


def _put(queue: asyncio.Queue[dict[str, Any]], message: dict[str, Any]) -> bool:
    """Queue a message; a full queue is emptied down to a resync instead (the events in it are superseded by the
    re-read it asks for), so a dropped event is never silent and the resync itself always fits. False if it was."""
    try:
        queue.put_nowait(message)
        return True
    except asyncio.QueueFull:
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(dict(RESYNC))
        return False


class EventHub:
    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self._subscribers: dict[UUID, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self._closing = False
        self._relisten_task: asyncio.Task[None] | None = None

    async def _ensure_listening(self) -> None:
        async with self._lock:
            if self._conn is not None and not self._conn.is_closed():
                return
            conn = await asyncpg.connect(self._dsn)
            await conn.add_listener(CHANNEL, self._deliver)
            conn.add_termination_listener(self._lost)
            self._conn = conn

    def _lost(self, _conn: Any) -> None:
        """The LISTEN connection died (a database restart, a failover): listen again, in the background, while
        anyone is subscribed. Without this every open socket stayed open and silent."""
        if self._closing or (self._relisten_task is not None and not self._relisten_task.done()):
            return
        self._relisten_task = asyncio.get_running_loop().create_task(self._relisten())

    async def _relisten(self) -> None:
        delay = 0.5
        while not self._closing and self._subscribers:
            try:
                await self._ensure_listening()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                logger.warning("event hub: cannot listen again yet (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            for queues in tuple(self._subscribers.values()):
                for queue in tuple(queues):
                    _put(queue, dict(RESYNC))
            return

    def _deliver(self, _conn: Any, _pid: int, _channel: str, payload: object) -> None:
        try:
            message = json.loads(str(payload))
            tenant_id = UUID(message["tenant_id"])
        except (ValueError, KeyError, TypeError):
            logger.warning("ignoring a malformed event payload")
            return
        for queue in tuple(self._subscribers.get(tenant_id, ())):
            if not _put(queue, message):
                logger.warning("a dashboard is not keeping up; dropped its queue for a resync (tenant %s)", tenant_id)

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
        self._closing = True
        if self._relisten_task is not None:
            self._relisten_task.cancel()
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()
        self._conn = None
