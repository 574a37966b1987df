"""Operator commands behind ``chainsight risk backtest`` and ``chainsight risk import``.

Like the early-warning job they act as a tenant's first admin through row-level-security transactions
(default tenant: the only one, or the demo tenant when several exist).
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

from common.config import get_settings
from common.database import TenantTransaction, job_database
from common.errors import InvalidInputError
from risk import repository
from risk.backtest import backtest
from risk.early_warning import JobIdentity, tenant_identities
from risk.history_import import ImportOptions, import_history
from risk.history_rows import LATEST_PROMISE
from risk.pipeline import Fitter


async def _identity(owner: asyncpg.Connection, tenant: UUID | None) -> JobIdentity:
    found = await tenant_identities(owner, None if tenant is None else [tenant])
    if tenant is None and len(found) > 1:
        from inventory.demo import DEMO_TENANT_ID

        found = [f for f in found if f.tenant_id == DEMO_TENANT_ID] or found[:0]
    if len(found) != 1:
        raise InvalidInputError("name the tenant (--tenant UUID): none or several match", code="tenant_required")
    return found[0]


# The history loaded reaches three years before the cutoff, and the models read dates as pandas timestamps.
EARLIEST_CUTOFF = date(1900, 1, 1)


def check_cutoff(cutoff: date) -> date:
    """The backtest's cutoff, or InvalidInputError: until 2026-12-07 0001-01-01 was an OverflowError traceback."""
    if not EARLIEST_CUTOFF <= cutoff <= LATEST_PROMISE:
        raise InvalidInputError(
            f"the cutoff must lie between {EARLIEST_CUTOFF} and {LATEST_PROMISE}, got {cutoff}", code="invalid_cutoff"
        )
    return cutoff


async def run_backtest(cutoff: date, tenant: UUID | None, fitter: Fitter | None) -> dict[str, Any]:
    check_cutoff(cutoff)
    async with job_database(get_settings()) as database:
        async with database.connection() as owner:
            who = await _identity(owner, tenant)

        async def load(tx: TenantTransaction) -> Any:
            return await repository.load_delivery_history(tx.conn, cutoff - timedelta(days=3 * 365))

        history = await database.run(who.claims, who.tenant_id, load)
    result = await asyncio.to_thread(backtest, history, cutoff, fitter=fitter)
    return {"tenant_id": str(who.tenant_id), **result}


async def run_import(path: Path, tenant: UUID | None, options: ImportOptions) -> dict[str, Any]:
    data = await asyncio.to_thread(path.read_bytes)
    async with job_database(get_settings()) as database:
        async with database.connection() as owner:
            who = await _identity(owner, tenant)

        async def load(tx: TenantTransaction) -> dict[str, Any]:
            return await import_history(tx.conn, tx.tenant_id, data, options)

        return {"tenant_id": str(who.tenant_id), **await database.run(who.claims, who.tenant_id, load)}
