"""The ``RiskService`` deployment's class built in process (no Ray, no Serve) on the test database."""

from __future__ import annotations

import asyncio

import pytest

from common.errors import PoolExhaustedError
from deployments import risk_service
from deployments.risk_service import RiskService


async def test_a_request_finding_every_connection_busy_is_refused_after_the_acquire_timeout(
    settings, make_tenant, monkeypatch: pytest.MonkeyPatch
):
    # As the ingress does (503 database_busy, README's limits): until 2026-12-07 the risk requests waited unbounded.
    one_connection = settings.model_copy(
        update={"database_pool_min_size": 1, "database_pool_max_size": 1, "database_acquire_timeout_s": 0.2}
    )
    monkeypatch.setattr(risk_service, "get_settings", lambda: one_connection)
    tenant = await make_tenant()
    service = RiskService.func_or_class.__new__(RiskService.func_or_class)
    await service.__init__()  # Serve awaits the deployment's async __init__ the same way
    try:
        async with service._pool.acquire():  # the only connection, held as a slow request would hold it
            with pytest.raises(PoolExhaustedError):
                await asyncio.wait_for(service.current_model(tenant.claims(), tenant.id), timeout=10)
    finally:
        await service._pool.close()
