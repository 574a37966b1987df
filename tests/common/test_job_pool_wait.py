"""Jobs and tools wait for a pooled connection as API requests do: at most DATABASE_ACQUIRE_TIMEOUT_S, then a
PoolExhaustedError that names the setting (until 2026-12-08 they waited without limit)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from common.database import job_database
from common.errors import PoolExhaustedError
from integrations.sync import acting_claims


async def test_a_job_waiting_past_the_acquire_timeout_fails_naming_the_setting(settings):
    one_connection = settings.model_copy(
        update={"database_pool_min_size": 1, "database_pool_max_size": 1, "database_acquire_timeout_s": 0.3}
    )
    async with job_database(one_connection) as database, database.connection():  # the only connection, held
        started = time.monotonic()
        with pytest.raises(PoolExhaustedError, match="DATABASE_ACQUIRE_TIMEOUT_S") as refused:
            async with asyncio.timeout(10):  # a wait without limit fails here as TimeoutError instead
                await acting_claims(database, uuid.uuid4(), uuid.uuid4())
        waited = time.monotonic() - started
    assert 0.3 <= waited < 3, waited
    assert "0.3 s" in str(refused.value)
