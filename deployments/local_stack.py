"""Bring up the pieces of a local stack one by one: database, schema, demo data, Ray, Serve."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from ray import serve

from common.config import Settings
from common.embedded_postgres import CleanupMode, start_embedded_postgres
from common.migrate import apply_migrations
from common.ray_connection import connect_ray
from deployments.app_builder import AppArgs, build_app
from deployments.integrations_job import DueSyncLoop
from deployments.llm_server import llm_args_from
from inventory.demo import seed_demo
from risk.demo import seed_risk_demo

APP_NAME = "chainsight"


def ensure_database(settings: Settings, *, cleanup: CleanupMode = "stop") -> str:
    """DATABASE_URL if set; otherwise start the embedded PostgreSQL and export its URL to child processes."""
    if settings.database_url:
        return settings.database_url
    url = start_embedded_postgres(settings.embedded_postgres_dir, cleanup=cleanup)
    os.environ["DATABASE_URL"] = url  # Ray workers and Serve replicas inherit it
    return url


def migrate(url: str) -> list[int]:
    return asyncio.run(apply_migrations(url))


def seed(url: str, days: int = 365) -> bool:
    async def run() -> bool:
        conn = await asyncpg.connect(url)
        try:
            loaded = await seed_demo(conn, days=days)
            # Risk data also joins a demo tenant loaded before risk existed (skipped once present).
            return await seed_risk_demo(conn) or loaded
        finally:
            await conn.close()

    return asyncio.run(run())


@dataclass(frozen=True)
class RunningStack:
    api_url: str
    docs_url: str
    dashboard_url: str | None


def start_ray(
    settings: Settings, *, num_cpus: int | None = None, include_dashboard: bool = True, log_to_driver: bool = True
) -> str | None:
    """Start a local Ray cluster (or join RAY_ADDRESS); returns the dashboard URL if there is one.

    ``log_to_driver=False`` keeps the workers' and replicas' output (vLLM's included) in Ray's log files
    instead of this process's terminal (`chainsight up` without --verbose)."""
    if settings.serve_high_throughput:
        # Read by the Serve proxy and controller when they start, so set before Ray starts them.
        os.environ.setdefault("RAY_SERVE_ENABLE_HA_PROXY", "1")
        os.environ.setdefault("RAY_SERVE_THROUGHPUT_OPTIMIZED", "1")
    if not settings.ray_address and num_cpus is None:
        # Logical CPUs: the ingress, RiskService and the two Ray Train workers of the risk model (`chainsight up`,
        # `chainsight risk scan`) need room, or training waits forever for a free CPU.
        num_cpus = max(6, os.cpu_count() or 1)
        if settings.copilot_enabled:
            # The vLLM replica and its engine worker each claim one, and the ingress and the copilot service
            # must still schedule on a 2-core machine (they mostly wait on I/O).
            num_cpus = max(4, os.cpu_count() or 1) + 4
    connection = connect_ray(
        num_cpus=num_cpus, dashboard=include_dashboard, log_to_driver=log_to_driver, settings=settings
    )
    return connection.dashboard_url


def app_args_from(settings: Settings) -> AppArgs:
    return AppArgs(
        max_ongoing_requests=settings.serve_max_ongoing_requests,
        min_replicas=settings.serve_min_replicas,
        max_replicas=settings.serve_max_replicas,
        access_log=settings.serve_access_log,
        copilot=settings.copilot_enabled,
        llm=llm_args_from(settings) if settings.copilot_enabled else None,
    )


def start_sync_scheduler(settings: Settings, database_url: str, every_s: float = 60.0) -> DueSyncLoop:
    """Sync due ERP connectors every ``every_s`` seconds in a daemon thread (needs Ray started); ``.stop()`` it."""
    return DueSyncLoop(settings.model_copy(update={"database_url": database_url}), every_s).start()


def ray_logs_dir() -> Path | None:
    """The local Ray session's log folder (raylet, GCS, workers, Serve replicas, vLLM), where Ray keeps it."""
    logs = Path(os.environ.get("RAY_TMPDIR", "/tmp/ray")) / "session_latest" / "logs"  # noqa: S108 (Ray's own default)
    return logs.resolve() if logs.exists() else None


def start_serve(
    settings: Settings,
    args: AppArgs | None = None,
    on_deployment: Callable[[str, float], None] | None = None,
) -> RunningStack:
    """Deploy the application and wait until it is healthy; ``on_deployment(name, seconds)`` is called as
    each deployment becomes healthy (seconds since the deploy started)."""
    serve.start(http_options={"host": settings.http_host, "port": settings.http_port})
    application = build_app(args or app_args_from(settings))
    if on_deployment is None:
        serve.run(application, name=APP_NAME, route_prefix="/")
    else:
        _run_reporting_deployments(application, on_deployment)
    base = f"http://{settings.http_host}:{settings.http_port}"
    return RunningStack(api_url=f"{base}/api/v1", docs_url=f"{base}/docs", dashboard_url=None)


def _run_reporting_deployments(application: serve.Application, on_deployment: Callable[[str, float], None]) -> None:
    started = time.monotonic()
    reported: set[str] = set()
    with ThreadPoolExecutor(max_workers=1) as pool:
        deploying = pool.submit(serve.run, application, name=APP_NAME, route_prefix="/")
        while True:
            finished = deploying.done()
            app_status = serve.status().applications.get(APP_NAME)
            for name, deployment in (app_status.deployments if app_status else {}).items():
                if name not in reported and deployment.status == "HEALTHY":
                    reported.add(name)
                    on_deployment(name, time.monotonic() - started)
            if finished:
                deploying.result()  # raises what serve.run raised
                return
            time.sleep(0.5)
