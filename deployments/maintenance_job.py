"""Periodic housekeeping for every tenant: ``python -m deployments.maintenance_job``.

- Releases expired reservation holds. Reads already ignore them (the ``stock_level_details`` view) and the
  write paths release those of the level they touch; this releases the rest, so ``reserved`` on the table
  matches what reads show.
- Deletes idempotency keys past their 24 hours (a stale key is already claimed afresh; this bounds the table).

Run it every few minutes (cron, a RayCronJob); rerunning it changes nothing twice. Prints a JSON summary.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

import asyncpg

from common.config import get_settings
from common.database import create_pool
from inventory import idempotency
from inventory.reservations import release_expired


async def run_maintenance(conn: asyncpg.Connection) -> dict[str, Any]:
    """On a service connection (not a request's): row-level security does not narrow it to one tenant."""
    async with conn.transaction():
        released = await release_expired(conn)
        purged = await idempotency.purge_expired(conn)
    return {"reservations_released": released, "idempotency_keys_deleted": purged}


async def main_async() -> dict[str, Any]:
    pool = await create_pool(get_settings())
    try:
        async with pool.acquire() as conn:
            return await run_maintenance(cast(asyncpg.Connection, conn))
    finally:
        await pool.close()


def main() -> None:
    print(json.dumps(asyncio.run(main_async())))


if __name__ == "__main__":
    main()
