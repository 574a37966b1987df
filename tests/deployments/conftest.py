"""The Serve application on the session's Ray cluster (tests/conftest.py), on a free port, once per session.

``serve_url`` deploys it without the copilot, so Serve tests that need no model do not wait for vLLM;
``copilot_serve_url`` redeploys the same application with the copilot (vLLM on CPU) the first time a copilot or
LLM test asks for it, and it stays so for the rest of the session (never downgraded): vLLM starts at most once.
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
from tests.support.ports import free_port

__all__ = ["free_port"]  # tests/training/test_job_submit.py imports it from here


def _serve_args(served: Settings, *, copilot: bool) -> AppArgs:
    return AppArgs(min_replicas=1, max_replicas=1, copilot=copilot, llm=llm_args_from(served) if copilot else None)


@pytest.fixture(scope="session")
def serve_url(ray_cluster: Settings) -> str:
    """The application without the copilot (its routes answer 503); stops with the cluster at the end of the
    session."""
    start_serve(ray_cluster, _serve_args(ray_cluster, copilot=False))
    return f"http://{ray_cluster.http_host}:{ray_cluster.http_port}"


@pytest.fixture(scope="session")
def copilot_serve_url(serve_url: str, ray_cluster: Settings) -> str:
    """The same application and URL, upgraded in place with the copilot: vLLM on CPU with SmolLM2 (converted
    once into .chainsight/models). Serve redeploys it and returns once every deployment is healthy."""
    start_serve(ray_cluster, _serve_args(ray_cluster, copilot=True))
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
