"""Session-wide real services: one PostgreSQL (embedded, with pgvector), helpers to make tenants, and the
session's one Ray cluster (``ray_cluster``) that Ray Train, Ray task and Serve tests all share.

The Serve application starts on that cluster in tests/deployments/conftest.py, only for the tests that need it.
Tests that use the cluster are marked ``ray`` and those that use the Serve application ``serve`` at collection
(``pytest -m "not slow and not ray and not serve"`` is the fast tier: no Ray at all).
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from common.config import Settings
from common.database import Database, create_pool
from common.dev_tokens import issue_hs256_token
from common.embedded_postgres import start_embedded_postgres, stop_embedded_postgres
from common.migrate import apply_migrations
from tests.common.jwks_server import JWKSServer, SigningKey, make_ec_key, make_rsa_key
from tests.support.pg_dirs import new_data_dir, remove_data_dir
from tests.support.ports import LOOPBACK_NETWORKS, free_port, wait_for_listener
from tests.support.serve_app import (
    MODEL_CONVERSION,
    SERVE_DEPLOYMENT,
    ServeDeployment,
    needs_serve,
    serve_modules_last,
    start_model_conversion,
    uses,
)

TEST_JWT_SECRET = "test-secret-for-chainsight-suite-0123456789abcdef"
# Logical CPUs only gate scheduling: room for the Serve ingress, the model deployments and the copilot's vLLM
# replica, plus the Ray Train workers (risk, training) and sync tasks that later tests start on the same cluster.
RAY_TEST_CPUS = 16
# Ray's dashboard agent serves job submissions on this fixed port (``ray.init`` cannot move it), so of two local
# clusters only the first to start takes job submissions. `make pytest` runs the own_cluster tests (``ray job
# submit`` against a cluster of their own) first in the PostgreSQL-only process, beside the Ray tests, and sets
# CHAINSIGHT_TEST_JOB_CLUSTER_WAIT_S so that no cluster of this session, none of which takes jobs, starts first.
JOB_AGENT_PORT = 52365


def pytest_configure(config: pytest.Config) -> None:
    # No .env file for get_settings() here or in the Ray workers and replicas the suite starts (they inherit it):
    # a developer's .env (SUPABASE_URL, say) made every in-process API test a 401.
    os.environ["CHAINSIGHT_ENV_FILE"] = ""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what each test needs from its fixtures, so a tier can leave Ray or Serve out; modules with Serve
    tests run last, so the others run while the application deploys (``ray_cluster``); own_cluster tests run
    first, so their cluster is up before the session's (``JOB_AGENT_PORT``)."""
    for item in items:
        if uses(item, "serve_url"):
            item.add_marker(pytest.mark.serve)
        if uses(item, "ray_cluster"):
            item.add_marker(pytest.mark.ray)
    serve_modules_last(items)
    items.sort(key=lambda item: item.get_closest_marker("own_cluster") is None)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start converting the copilot's model now when a selected test deploys it (``ray_cluster`` waits for it)."""
    _, copilot = needs_serve(session.items)
    # The folder ``ray_cluster``'s settings will hold: the environment's, else the default.
    folder = Path(os.environ.get("COPILOT_MODEL_DIR") or Settings.model_fields["copilot_model_dir"].default)
    session.config.stash[MODEL_CONVERSION] = start_model_conversion(folder) if copilot else None


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A conversion no deploy waited for (the session stopped early) ends with the session, not after it."""
    conversion = session.config.stash.get(MODEL_CONVERSION, None)
    if conversion is not None and conversion.poll() is None:
        conversion.terminate()
        conversion.wait()


@pytest.fixture(scope="session", autouse=True)
def job_cluster_first(request: pytest.FixtureRequest) -> None:
    """Before any test starts Ray, wait (when asked) until the own_cluster tests' cluster holds JOB_AGENT_PORT;
    this session's PostgreSQL starts first, while that cluster starts."""
    job_cluster_wait_s = float(os.environ.get("CHAINSIGHT_TEST_JOB_CLUSTER_WAIT_S", "0"))
    if job_cluster_wait_s > 0:
        request.getfixturevalue("database_url")
        wait_for_listener(JOB_AGENT_PORT, job_cluster_wait_s)


@pytest.fixture(scope="session")
def embedded_postgres_dir() -> Iterator[Path | None]:
    """Data directory of the embedded server (tests/support/pg_dirs.py), or None when CHAINSIGHT_TEST_DATABASE_URL
    names another."""
    if os.environ.get("CHAINSIGHT_TEST_DATABASE_URL"):
        yield None
        return
    data_dir = new_data_dir("pg")
    yield data_dir
    remove_data_dir(data_dir)


@pytest.fixture(scope="session")
def database_url(embedded_postgres_dir: Path | None) -> Iterator[str]:
    """A migrated database: CHAINSIGHT_TEST_DATABASE_URL if given, else a fresh embedded server."""
    if embedded_postgres_dir is None:
        url = os.environ["CHAINSIGHT_TEST_DATABASE_URL"]
    else:
        url = start_embedded_postgres(embedded_postgres_dir, cleanup="delete")
    asyncio.run(apply_migrations(url))
    yield url
    if embedded_postgres_dir is not None:
        stop_embedded_postgres(embedded_postgres_dir)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,  # a developer's .env (the compose steps write one) must not reach the suite
        environment="test",
        database_url=database_url,
        supabase_jwt_secret=TEST_JWT_SECRET,
        database_pool_max_size=20,
    )


@pytest.fixture(scope="session")
async def database(settings: Settings) -> AsyncIterator[Database]:
    pool = await create_pool(settings)
    yield Database(pool)
    await pool.close()


@pytest.fixture(scope="session")
async def owner_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """Connections as the owning role: used only to arrange test data, never to check isolation."""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    assert pool is not None
    yield pool
    await pool.close()


@dataclass
class TenantFixture:
    """A tenant with one member per role, two warehouses and two products, made fresh per test."""

    id: uuid.UUID
    admin: uuid.UUID
    planner: uuid.UUID
    viewer: uuid.UUID
    warehouses: list[uuid.UUID]
    products: list[uuid.UUID]
    secret: str = TEST_JWT_SECRET
    extra: dict = field(default_factory=dict)

    def token(self, user: uuid.UUID | None = None, **kwargs: object) -> str:
        return issue_hs256_token(self.secret, user or self.planner, **kwargs)  # type: ignore[arg-type]

    def headers(self, user: uuid.UUID | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}

    def admin_headers(self) -> dict[str, str]:
        return self.headers(self.admin)

    def claims(self, user: uuid.UUID | None = None) -> dict[str, object]:
        return {"sub": str(user or self.planner), "role": "authenticated", "aud": "authenticated"}


TenantFactory = Callable[..., Awaitable[TenantFixture]]


@pytest.fixture(scope="session")
def make_tenant(owner_pool: asyncpg.Pool) -> TenantFactory:
    async def make(stock: dict[int, Decimal] | None = None, units: dict[int, str] | None = None) -> TenantFixture:
        """``stock`` maps a product index to an opening receipt in the first warehouse; ``units`` to the product's
        unit (``each`` otherwise), fixed before any stock counts in it."""
        suffix = uuid.uuid4().hex[:10]
        tenant = TenantFixture(
            id=uuid.uuid4(),
            admin=uuid.uuid4(),
            planner=uuid.uuid4(),
            viewer=uuid.uuid4(),
            warehouses=[uuid.uuid4(), uuid.uuid4()],
            products=[uuid.uuid4(), uuid.uuid4()],
        )
        async with owner_pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO app.tenants (id, name, slug) VALUES ($1, $2, $3)", tenant.id, f"T {suffix}", f"t-{suffix}"
            )
            await conn.executemany(
                "INSERT INTO app.members (tenant_id, user_id, role) VALUES ($1, $2, $3)",
                [
                    (tenant.id, tenant.admin, "admin"),
                    (tenant.id, tenant.planner, "planner"),
                    (tenant.id, tenant.viewer, "viewer"),
                ],
            )
            await conn.executemany(
                "INSERT INTO app.warehouses (id, tenant_id, code, name) VALUES ($1, $2, $3, $4)",
                [(w, tenant.id, f"WH-{i}", f"Warehouse {i}") for i, w in enumerate(tenant.warehouses)],
            )
            await conn.executemany(
                "INSERT INTO app.products (id, tenant_id, sku, name, unit_of_measure) VALUES ($1, $2, $3, $4, $5)",
                [
                    (p, tenant.id, f"SKU-{i}", f"Product {i}", (units or {}).get(i, "each"))
                    for i, p in enumerate(tenant.products)
                ],
            )
            for index, quantity in (stock or {}).items():
                await conn.execute(
                    "INSERT INTO app.stock_movements (tenant_id, product_id, warehouse_id, movement_type, quantity) "
                    "VALUES ($1, $2, $3, 'receipt', $4)",
                    tenant.id,
                    tenant.products[index],
                    tenant.warehouses[0],
                    quantity,
                )
        return tenant

    return make


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
def ray_cluster(settings: Settings, jwks_server: JWKSServer, request: pytest.FixtureRequest) -> Iterator[Settings]:
    """The session's one local Ray cluster; yields the settings its workers and replicas read.

    Workers, replicas and Ray tasks read their settings from the environment they inherit from this process,
    so it is set before Ray starts. Ray Train runs, sync tasks and the Serve application all join this cluster;
    it stops at the end of the session (ray.shutdown stops the replicas with it: serve.shutdown first would only
    add a 30 s graceful wait for the controller). When the selected tests (after -m, -k and paths) include Serve
    tests, the application starts deploying in the background as soon as the cluster is up, with the copilot
    when one of them asks for it (``serve_deployment``).
    """
    import ray

    from common.config import get_settings
    from deployments.local_stack import start_ray

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
            "INTEGRATIONS_ALLOWED_NETWORKS": json.dumps(LOOPBACK_NETWORKS),
            # Short answers keep the CPU model's generations (and fuzzed requests) to a few seconds.
            "COPILOT_ANSWER_TOKENS": "48",
        }
    )
    get_settings.cache_clear()
    served = Settings(_env_file=None)  # type: ignore[call-arg]
    start_ray(served, num_cpus=RAY_TEST_CPUS, include_dashboard=False)
    serve, copilot = needs_serve(request.session.items)
    request.config.stash[SERVE_DEPLOYMENT] = (
        ServeDeployment(served, copilot=copilot, conversion=request.config.stash.get(MODEL_CONVERSION, None))
        if serve
        else None
    )
    try:
        yield served
    finally:
        # Whichever deployment the session ended with (``serve_deployment`` starts one when none was foreseen).
        deployment = request.config.stash.get(SERVE_DEPLOYMENT, None)
        if deployment is not None:
            deployment.close()
        ray.shutdown()
        get_settings.cache_clear()
