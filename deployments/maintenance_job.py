"""Periodic housekeeping for every tenant: ``python -m deployments.jobs maintenance``.

- Releases expired reservation holds. Reads already ignore them (the ``stock_level_details`` view) and the
  write paths release those of the level they touch; this releases the rest, so ``reserved`` on the table
  matches what reads show.
- Deletes idempotency keys past their 24 hours (a stale key is already claimed afresh; this bounds the table).
- Deletes carrier webhook delivery records past their 30 days (replays are refused by the timestamp long before).

Run it every few minutes (cron, a RayCronJob); rerunning it changes nothing twice. Prints a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import threading
from collections.abc import Sequence
from typing import Any, cast

import asyncpg

from common.config import Settings, get_settings
from common.database import create_pool
from deployments.periodic import PeriodicLoop
from inventory import idempotency, webhook_keys
from inventory.stock import release_expired


async def run_maintenance(conn: asyncpg.Connection) -> dict[str, Any]:
    """On a service connection (not a request's): row-level security does not narrow it to one tenant."""
    async with conn.transaction():
        released = await release_expired(conn)
        purged = await idempotency.purge_expired(conn)
        deliveries = await webhook_keys.purge_old_deliveries(conn)
    return {
        "reservations_released": released,
        "idempotency_keys_deleted": purged,
        "carrier_deliveries_deleted": deliveries,
    }


logger = logging.getLogger("deployments.maintenance_job")


async def main_async(settings: Settings | None = None) -> dict[str, Any]:
    pool = await create_pool(settings or get_settings())
    try:
        async with pool.acquire() as conn:
            return await run_maintenance(cast(asyncpg.Connection, conn))
    finally:
        await pool.close()


class MaintenanceLoop(PeriodicLoop):
    """``chainsight up``'s stand-in for the cluster's CronJob: the same housekeeping every ``every_s`` seconds."""

    def __init__(self, settings: Settings, every_s: float = 300.0) -> None:
        super().__init__(every_s, name="maintenance")
        self.settings = settings

    def run_round(self, stop: threading.Event) -> None:
        try:
            self.last_summary = asyncio.run(main_async(self.settings))
        except (OSError, asyncpg.PostgresError) as exc:  # the database restarting must not end the schedule
            logger.warning("housekeeping failed (%s); trying again in %.0f s", exc, self.every_s)


def main(argv: Sequence[str] | None = None) -> None:
    argparse.ArgumentParser(
        prog="python -m deployments.jobs maintenance", description=(__doc__ or "").split("\n")[0]
    ).parse_args(argv)
    print(json.dumps(asyncio.run(main_async())))
