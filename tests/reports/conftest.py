"""The API app in this process (no Ray): real routes, real PostgreSQL, and the forecast routes' model work
called in-process (``InProcessForecast``: the ``training.planning`` functions the ForecastService runs)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from deployments.report_previews import in_process_app


@pytest.fixture(scope="session")
async def api(settings, database) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=in_process_app(settings, database))
    async with httpx.AsyncClient(transport=transport, base_url="http://reports", timeout=300) as client:
        yield client
