"""The Serve application on the session's Ray cluster (tests/conftest.py), on a free port, once per session.

``ray_cluster`` starts deploying it in the background as soon as the cluster is up (tests/support/serve_app.py);
``serve_url`` waits until it is healthy. vLLM starts only for copilot and LLM tests, which ask for
``copilot_serve_url``: when the selected tests include one, the application is deployed with the copilot from the
start (one deploy, vLLM once); otherwise without it, so Serve tests that need no model never wait for vLLM.
``copilot_serve_url`` upgrades an application deployed without the copilot in place (never the other way).
Route behaviour that needs no model handle, proxy or streaming is tested in process: tests/deployments/api.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from common.config import Settings
from common.dev_tokens import issue_hs256_token
from tests.deployments.forecast_rows import post_daily_issues, weekday_demand
from tests.support.serve_app import SERVE_DEPLOYMENT, ServeDeployment
from tests.support.tenant_rows import add_tenant_with_member


@pytest.fixture(scope="session")
def serve_deployment(ray_cluster: Settings, request: pytest.FixtureRequest) -> ServeDeployment:
    """The application ``ray_cluster`` started deploying (it stops with the cluster at the end of the session);
    deployed here, without the copilot, when no selected test asked for Serve at collection."""
    deployment = request.config.stash.get(SERVE_DEPLOYMENT, None)
    if deployment is None:
        deployment = ServeDeployment(ray_cluster, copilot=False)
        request.config.stash[SERVE_DEPLOYMENT] = deployment
    return deployment


@pytest.fixture(scope="session")
def serve_url(serve_deployment: ServeDeployment, ray_cluster: Settings) -> str:
    """The application, once healthy; without the copilot (its routes answer 503) unless the selected tests need it."""
    serve_deployment.ready()
    return f"http://{ray_cluster.http_host}:{ray_cluster.http_port}"


@pytest.fixture(scope="session")
def copilot_serve_url(serve_url: str, serve_deployment: ServeDeployment) -> str:
    """The same application and URL with the copilot: vLLM on CPU with SmolLM2 (converted once into
    .chainsight/models). Deployed without it, it is upgraded in place: Serve redeploys it and returns once every
    deployment is healthy."""
    serve_deployment.with_copilot()
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


@pytest.fixture(scope="session")
def fuzz_token(database_url: str, settings: Settings) -> str:
    """A planner of a fresh tenant, so generated writes can succeed as well as fail (the OpenAPI fuzz tests)."""

    async def arrange() -> uuid.UUID:
        conn = await asyncpg.connect(database_url)
        try:
            _, planner = await add_tenant_with_member(conn, "Fuzz")
        finally:
            await conn.close()
        return planner

    planner = asyncio.run(arrange())
    return issue_hs256_token(str(settings.jwt_secret), planner)
