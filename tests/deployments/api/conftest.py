"""Route behaviour in process: ``create_api``'s FastAPI app behind httpx's ASGI transport, its lifespan running
(its own database pool and token verifier, as in a replica), on the session's PostgreSQL and JWKS server.

No Ray and no Serve, so these tests run in the fast tier (``make test-fast``). Here ``http`` is that in-process
client; tests/deployments/conftest.py's ``http`` talks to the Serve application through its proxy. What needs
Serve stays there: composition and model handles (forecast, risk, copilot), the proxy (request ids, body limits
read off the socket), streamed responses, the events WebSocket, ERP syncs as Ray tasks and the LLM.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from common.config import Settings
from deployments.api.app import create_api
from tests.common.jwks_server import JWKSServer
from tests.support.ports import LOOPBACK_NETWORKS


@pytest.fixture(scope="session")
def api_settings(settings: Settings, jwks_server: JWKSServer) -> Settings:
    """What the Serve replicas read from their environment (tests/conftest.py's ``ray_cluster``), as settings."""
    return settings.model_copy(
        update={
            "supabase_jwks_url": jwks_server.url,
            "integrations_allowed_networks": LOOPBACK_NETWORKS,
        }
    )


@pytest.fixture(scope="session")
async def http(api_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_api(api_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api", timeout=30.0) as client:
            yield client
