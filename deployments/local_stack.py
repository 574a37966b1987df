"""Bring up the pieces of a local stack one by one: database, schema, demo data, Ray, Serve; and take it down.

With ``serve_high_throughput`` Ray Serve's proxy runs HAProxy as a child process (``haproxy -db -f
/tmp/haproxy-serve/<node id>/haproxy.cfg``, ``ray.serve._private.haproxy``). It stops it only when Serve is shut
down; a proxy killed first (Ray's exit after Ctrl-C) leaves it running, holding the HTTP port, and the next
start fails with "HAProxy crashed during startup". So the stack stops Serve, then any HAProxy of its own node.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import ray
from ray import serve
from ray.serve._private.constants import RAY_SERVE_HAPROXY_CONFIG_FILE_LOC, RAY_SERVE_HAPROXY_STATS_PORT

from common.config import Settings, settings_environment
from common.embedded_postgres import CleanupMode, start_embedded_postgres
from common.errors import ConflictError
from common.migrate import apply_migrations
from common.ray_connection import connect_ray
from deployments.app_builder import AppArgs, build_app
from deployments.integrations_job import DueSyncLoop
from deployments.llm_server import llm_args_from
from deployments.maintenance_job import MaintenanceLoop
from inventory.demo import seed_demo
from risk.demo import seed_risk_demo

APP_NAME = "chainsight"


def ensure_database(settings: Settings, *, cleanup: CleanupMode = "stop") -> str:
    """DATABASE_URL if set (in the environment or .env); otherwise start the embedded PostgreSQL. Either way the URL
    is exported to child processes: the Ray cluster started next, its Serve replicas and the jobs submitted to it
    inherit it (`ray job submit --working-dir .` leaves out a .gitignored .env, so a URL only there never reached
    a job, which failed with "DATABASE_URL is not set")."""
    url = settings.database_url or start_embedded_postgres(settings.embedded_postgres_dir, cleanup=cleanup)
    os.environ["DATABASE_URL"] = url
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
    """Start a local Ray cluster (or join RAY_ADDRESS); returns the dashboard URL if there is one. A cluster started
    here inherits ``settings`` (``export_settings``), so its jobs read what the stack was started with.

    ``log_to_driver=False`` keeps the workers' and replicas' output (vLLM's included) in Ray's log files
    instead of this process's terminal (`chainsight up` without --verbose)."""
    if settings.serve_high_throughput:
        # Read by the Serve proxy and controller when they start, so set before Ray starts them.
        os.environ.setdefault("RAY_SERVE_ENABLE_HA_PROXY", "1")
        os.environ.setdefault("RAY_SERVE_THROUGHPUT_OPTIMIZED", "1")
    # The controller gives a starting proxy 5 s to answer its first readiness check, then kills it, and
    # `serve.start` fails with the proxy's death: on a 2-core machine busy with other work HAProxy's manager
    # has missed that (CI, 2026-12-07). Serve itself waits 60 s for its proxies, so give the check 30.
    os.environ.setdefault("RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S", "30")
    if not settings.ray_address:
        export_settings(settings)
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


def export_settings(settings: Settings) -> list[str]:
    """Put the fields set in ``settings`` (from `.env` above all) into this process's environment where it has none
    of that name, before Ray starts: the local cluster's workers, replicas and jobs inherit it, `ray job submit`
    by hand included, whose `--working-dir .` uploads no .gitignored `.env` (until 2026-12-08 only DATABASE_URL
    reached a job). Returns the names exported, never their values (secrets are among them)."""
    exported = {name: value for name, value in settings_environment(settings).items() if name not in os.environ}
    os.environ.update(exported)
    return sorted(exported)


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


def start_schedules(settings: Settings, database_url: str) -> tuple[DueSyncLoop, MaintenanceLoop]:
    """What the cluster's CronJobs do, in daemon threads of this process: due ERP syncs and housekeeping."""
    housekeeping = MaintenanceLoop(settings.model_copy(update={"database_url": database_url})).start()
    return start_sync_scheduler(settings, database_url), housekeeping


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


class PortInUseError(ConflictError):
    """A port the stack must bind is held by another process."""


def check_ports_free(settings: Settings) -> None:
    """Refuse to start when the HTTP port (or, with HAProxy, its stats port) is taken, naming the holder: a
    stack that starts anyway fails minutes later with "HAProxy crashed during startup"."""
    ports = [settings.http_port] + ([RAY_SERVE_HAPROXY_STATS_PORT] if settings.serve_high_throughput else [])
    for port in ports:
        holder = port_holder(settings.http_host, port)
        if holder is not None:
            pid, command = holder
            who = f"pid {pid} ({command[:100]}); stop it (kill {pid})" if pid else "another user's process; stop it"
            raise PortInUseError(
                f"port {port} is already in use by {who} and start again", code="port_in_use", details={"port": port}
            )


def port_holder(host: str, port: int) -> tuple[int | None, str] | None:
    """None when ``host:port`` can be bound; otherwise the listening process's pid and command line (pid None
    when /proc does not show it: another user's process)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers bind: a connection of the last run left in TIME_WAIT (Ctrl-C with a browser's SSE or
        # WebSocket open) then does not block the bind, and only a socket listening on the port does.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
        else:
            return None
    sockets = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    for pid in _pids():
        if sockets & _open_files(pid):
            return pid, " ".join(_cmdline(pid))
    return None, ""


def _open_files(pid: int) -> set[str]:
    """What the process's descriptors point at; empty when it exited or is not ours to read."""
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return set()
    targets = set()
    for fd in descriptors:
        try:
            targets.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue  # closed since the listing: listdir's own descriptor always is, when the process is this one
    return targets


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue  # no IPv6
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(fields[9])
    return inodes


def _pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def _running(pid: int) -> bool:
    """Alive and not a zombie (an exited child not yet reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def local_node_id() -> str:
    """The node this process runs on: for the local cluster it started, the node whose HAProxy is its own."""
    return ray.get_runtime_context().get_node_id()


def haproxy_pids(node_id: str) -> list[int]:
    """HAProxy processes Ray Serve started for ``node_id``: their config file is per node."""
    directory, name = os.path.split(RAY_SERVE_HAPROXY_CONFIG_FILE_LOC)
    config = os.path.join(directory, node_id, name)
    return [pid for pid in _pids() if config in _cmdline(pid)]


def stop_haproxy(node_id: str, timeout_s: float = 5.0) -> list[int]:
    """Terminate (then kill, after ``timeout_s``) every HAProxy of ``node_id``; returns their pids."""
    pids = haproxy_pids(node_id)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in [pid for pid in pids if _running(pid)]:
            with contextlib.suppress(ProcessLookupError):  # exited since the check
                os.kill(pid, sig)
        deadline = time.monotonic() + timeout_s
        while any(_running(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
    return pids


def stop_serve(node_id: str) -> list[int]:
    """Shut Serve down (its proxy stops its HAProxy) and stop any HAProxy of ``node_id`` still running; a second
    Ctrl-C meanwhile is ignored so the stop is not cut short. Returns the pids of HAProxy processes found."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        if ray.is_initialized():
            serve.shutdown()
    finally:
        stopped = stop_haproxy(node_id)
    return stopped
