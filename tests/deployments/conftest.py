"""The Serve application on the session's Ray cluster (tests/conftest.py), on a free port, once per session."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from common.config import Settings
from deployments.app_builder import AppArgs
from deployments.llm_server import llm_args_from
from deployments.local_stack import start_serve
from tests.support.ports import free_port

__all__ = ["free_port"]  # tests/training/test_job_submit.py imports it from here


@pytest.fixture(scope="session")
def serve_url(ray_cluster: Settings) -> str:
    """Stops with the cluster at the end of the session."""
    served = ray_cluster
    # The copilot runs for real: vLLM on CPU with SmolLM2 (converted once into .chainsight/models).
    start_serve(served, AppArgs(min_replicas=1, max_replicas=1, copilot=True, llm=llm_args_from(served)))
    return f"http://{served.http_host}:{served.http_port}"


@pytest.fixture(scope="session")
async def http(serve_url: str) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=serve_url, timeout=30.0, limits=limits) as client:
        yield client
