"""Route behaviour in process: ``create_api``'s FastAPI app behind httpx's ASGI transport, its lifespan running
(its own database pool and token verifier, as in a replica), on the session's PostgreSQL and JWKS server.

No Ray and no Serve, so these tests run in the fast tier (``make test-fast``). Here ``http`` is that in-process
client; tests/deployments/conftest.py's ``http`` talks to the Serve application through its proxy. What needs
Serve stays there: composition and model handles (forecast, risk, copilot), the proxy (request ids, body limits
read off the socket), streamed responses, the events WebSocket, ERP syncs as Ray tasks and the LLM.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import uvicorn

from common.config import Settings
from common.database import Database
from deployments.api.app import create_api
from deployments.report_previews import in_process_app
from tests.common.jwks_server import JWKSServer
from tests.support.ports import LOOPBACK_NETWORKS, free_port


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


@pytest.fixture(scope="session")
def api_server_url(api_settings: Settings) -> Iterator[str]:
    """The same app served by uvicorn on a loopback port, in a thread of this process, for clients that need a URL
    (schemathesis's CLI); its lifespan opens its own pool, as a replica's does."""
    server = uvicorn.Server(
        uvicorn.Config(create_api(api_settings), host="127.0.0.1", port=free_port(), log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="api-uvicorn", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn stopped before it served: see the log above")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
async def api(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The app's routes with an in-process forecast handle (``InProcessForecast``: the forecasting and inventory-policy
    routes without Ray), on the session's PostgreSQL."""
    transport = httpx.ASGITransport(app=in_process_app(settings, database))
    async with httpx.AsyncClient(transport=transport, base_url="http://policy", timeout=120) as client:
        yield client
