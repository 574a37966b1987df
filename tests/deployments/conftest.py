"""The Serve application on the session's Ray cluster (tests/conftest.py), on a free port, once per session.

vLLM starts only for copilot and LLM tests, which ask for ``copilot_serve_url``. When the selected tests include
one, ``serve_url`` deploys the application with the copilot from the start (one deploy, vLLM once); otherwise
without it, so Serve tests that need no model never wait for vLLM. ``copilot_serve_url`` upgrades an
application deployed without the copilot in place (never the other way): vLLM starts at most once a session.
Route behaviour that needs no model handle, proxy or streaming is tested in process: tests/deployments/api.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from common.config import Settings
from deployments.app_builder import AppArgs
from deployments.llm_server import llm_args_from
from deployments.local_stack import start_serve
from tests.deployments.forecast_rows import post_daily_issues, weekday_demand


def _serve_args(served: Settings, *, copilot: bool) -> AppArgs:
    return AppArgs(min_replicas=1, max_replicas=1, copilot=copilot, llm=llm_args_from(served) if copilot else None)


@pytest.fixture(scope="session")
def serve_state(ray_cluster: Settings, request: pytest.FixtureRequest) -> dict[str, bool]:
    """Deploys the application (it stops with the cluster at the end of the session), with the copilot when a
    selected test (after -m, -k and paths) asks for it; says whether the copilot is deployed."""
    copilot = any("copilot_serve_url" in getattr(item, "fixturenames", ()) for item in request.session.items)
    start_serve(ray_cluster, _serve_args(ray_cluster, copilot=copilot))
    return {"copilot": copilot}


@pytest.fixture(scope="session")
def serve_url(serve_state: dict[str, bool], ray_cluster: Settings) -> str:
    """The application; without the copilot (its routes answer 503) unless the selected tests need it."""
    return f"http://{ray_cluster.http_host}:{ray_cluster.http_port}"


@pytest.fixture(scope="session")
def copilot_serve_url(serve_url: str, serve_state: dict[str, bool], ray_cluster: Settings) -> str:
    """The same application and URL with the copilot: vLLM on CPU with SmolLM2 (converted once into
    .chainsight/models). Deployed without it, it is upgraded in place: Serve redeploys it and returns once every
    deployment is healthy."""
    if not serve_state["copilot"]:
        start_serve(ray_cluster, _serve_args(ray_cluster, copilot=True))
        serve_state["copilot"] = True
    return serve_url


@pytest.fixture(scope="session")
async def http(serve_url: str) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=serve_url, timeout=30.0, limits=limits) as client:
        yield client


@pytest.fixture(scope="module")
async def planner_tenant(make_tenant, owner_pool):
    """A tenant whose first product has 200 days of weekday-heavy demand in its first warehouse (the /ai/forecast
    tests: one per module)."""
    tenant = await make_tenant()
    await post_daily_issues(owner_pool, tenant, tenant.products[0], tenant.warehouses[0], weekday_demand())
    return tenant
