"""A real local Ray cluster with the Serve application on a free port, once per test session."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import ray

from common.config import Settings
from deployments.app_builder import AppArgs
from deployments.llm_server import llm_args_from
from deployments.local_stack import start_ray, start_serve
from tests.common.jwks_server import JWKSServer, SigningKey, make_ec_key, make_rsa_key


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def signing_keys() -> dict[str, SigningKey]:
    return {"ES256": make_ec_key("serve-ec"), "RS256": make_rsa_key("serve-rsa")}


@pytest.fixture(scope="session")
def jwks_server(signing_keys: dict[str, SigningKey]) -> Iterator[JWKSServer]:
    """A real JWKS endpoint on loopback that the Serve replicas fetch ES256/RS256 keys from."""
    server = JWKSServer()
    server.keys = [key.jwk() for key in signing_keys.values()]
    yield server
    server.stop()


@pytest.fixture(scope="session")
def serve_url(settings: Settings, jwks_server: JWKSServer) -> Iterator[str]:
    # Replicas read their settings from the environment they inherit from this process.
    os.environ.update(
        {
            "ENVIRONMENT": "test",
            "DATABASE_URL": str(settings.database_url),
            "SUPABASE_JWT_SECRET": str(settings.jwt_secret),
            "SUPABASE_JWKS_URL": jwks_server.url,
            "HTTP_PORT": str(free_port()),
            # HAProxy's metrics and stats listeners have fixed default ports; free ones let this
            # session run beside another local stack on the same machine.
            "RAY_SERVE_HAPROXY_METRICS_PORT": str(free_port()),
            "RAY_SERVE_HAPROXY_STATS_PORT": str(free_port()),
            # The fake ERP servers run on loopback, which connectors may not call unless an operator allows it.
            "INTEGRATIONS_ALLOWED_NETWORKS": '["127.0.0.0/8", "::1/128"]',
            # Short answers keep the CPU model's generations (and fuzzed requests) to a few seconds.
            "COPILOT_ANSWER_TOKENS": "48",
        }
    )
    served = Settings(_env_file=None)  # type: ignore[call-arg]
    # Logical CPUs: 4 for the ingress and the copilot, 1 for RiskService, 2 for the risk tests' Ray Train workers.
    # Logical CPUs only gate scheduling: room for every model deployment plus the Ray Train workers that
    # later tests (training, risk) start on this same cluster.
    start_ray(served, num_cpus=16, include_dashboard=False)
    try:
        # The copilot runs for real: vLLM on CPU with SmolLM2 (converted once into .chainsight/models).
        start_serve(served, AppArgs(min_replicas=1, max_replicas=1, copilot=True, llm=llm_args_from(served)))
        yield f"http://{served.http_host}:{served.http_port}"
    finally:
        # ray.shutdown stops the replicas with the cluster; serve.shutdown first would only add a 30 s
        # graceful wait for the controller.
        ray.shutdown()


@pytest.fixture(scope="session")
async def http(serve_url: str) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=serve_url, timeout=30.0, limits=limits) as client:
        yield client
