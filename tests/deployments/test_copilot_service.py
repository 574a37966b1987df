"""The ``CopilotService`` deployment's class built in process (no Ray, no Serve, no models) on the test database."""

from __future__ import annotations

import asyncio

import pytest

from common.errors import PoolExhaustedError
from deployments import copilot_service
from deployments.copilot_service import CopilotService


class UnusedHandle:
    """The LLM deployment's handle, which a request refused before its first query never calls."""

    def options(self, **_: object) -> UnusedHandle:
        return self


async def test_a_request_finding_every_connection_busy_is_refused_after_the_acquire_timeout(
    settings, make_tenant, monkeypatch: pytest.MonkeyPatch
):
    # As the ingress does (503 database_busy, README's limits): until 2026-12-07 copilot requests waited unbounded.
    one_connection = settings.model_copy(
        update={"database_pool_min_size": 1, "database_pool_max_size": 1, "database_acquire_timeout_s": 0.2}
    )
    monkeypatch.setattr(copilot_service, "get_settings", lambda: one_connection)
    # The models are loaded at start; none is needed to be refused a connection.
    monkeypatch.setattr(copilot_service, "Embedder", lambda name: None)
    monkeypatch.setattr(copilot_service, "fit_chooser", lambda *args: None)
    monkeypatch.setattr(copilot_service, "load_token_counter", lambda source: len)
    tenant = await make_tenant()
    service = CopilotService.func_or_class.__new__(CopilotService.func_or_class)
    # Serve awaits the deployment's async __init__ the same way.
    await service.__init__(UnusedHandle(), "model", "cpu", 2048, "unused")
    try:
        async with service._pool.acquire():  # the only connection, held as a slow request would hold it
            with pytest.raises(PoolExhaustedError):
                await asyncio.wait_for(service.ingest(tenant.claims(), tenant.id, "notes.txt", b"text"), timeout=10)
    finally:
        await service._pool.close()
