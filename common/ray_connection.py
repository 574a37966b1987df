"""How every process of the project gets onto Ray: job entry points, CLI commands, the local stack and tests.

``connect_ray`` joins a running cluster or starts a local one, with the same options everywhere:

- the address: the one given, else ``RAY_ADDRESS`` (``Settings.ray_address``; KubeRay sets it in a RayJob's
  driver and ``ray job submit`` in an entrypoint's environment). With neither, ``num_cpus`` starts a new
  local cluster of that size; without it, Ray's own choice: the cluster already running on this machine (the
  one ``chainsight up`` started), else a new one sized to the machine;
- the namespace ``chainsight``, so that a named actor one driver creates is found by the others;
- for a cluster started here, this interpreter first on PATH (``put_interpreter_first``): a job's ``python``,
  a worker's and a replica's are the project's, whether or not the venv was activated;
- the dashboard only when asked for (on ``RAY_DASHBOARD_HOST``/``RAY_DASHBOARD_PORT``), and the workers'
  output in this process's terminal unless ``log_to_driver`` is off.

A process that is already connected keeps its connection: ``started`` is False and the caller leaves Ray
alone when it is done (``ray_session`` does this), so a job run inside a test session or beside the Serve
application never shuts their cluster down.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.config import Settings, get_settings

NAMESPACE = "chainsight"


@dataclass(frozen=True)
class RayConnection:
    started: bool  # this call connected the process, so its caller disconnects it
    dashboard_url: str | None  # http://host:port of the cluster's dashboard, when it has one


def connect_ray(
    address: str | None = None,
    *,
    num_cpus: int | None = None,
    dashboard: bool = False,
    log_to_driver: bool = True,
    settings: Settings | None = None,
) -> RayConnection:
    """Connect this process to Ray (see the module's docstring); nothing happens when it already is."""
    import ray

    if ray.is_initialized():
        return RayConnection(started=False, dashboard_url=None)
    settings = settings or get_settings()
    target = address or settings.ray_address
    if target and target != "local":
        context = ray.init(address=target, namespace=NAMESPACE, log_to_driver=log_to_driver)
        return RayConnection(started=True, dashboard_url=_http(getattr(context, "dashboard_url", None)))
    put_interpreter_first()
    context = ray.init(
        address="local" if target == "local" or num_cpus is not None else None,
        num_cpus=num_cpus,
        namespace=NAMESPACE,
        include_dashboard=dashboard,
        dashboard_host=settings.ray_dashboard_host,
        dashboard_port=settings.ray_dashboard_port,
        log_to_driver=log_to_driver,
    )
    return RayConnection(started=True, dashboard_url=_http(getattr(context, "dashboard_url", None)))


def _http(url: str | None) -> str | None:
    return f"http://{url}" if url else None


@contextmanager
def ray_session(
    address: str | None = None, *, num_cpus: int | None = None, log_to_driver: bool = True
) -> Iterator[RayConnection]:
    """``connect_ray`` for the length of a block: disconnects at the end only if it connected."""
    import ray

    connection = connect_ray(address, num_cpus=num_cpus, log_to_driver=log_to_driver)
    try:
        yield connection
    finally:
        if connection.started:
            ray.shutdown()


def put_interpreter_first(environ: MutableMapping[str, str] | None = None) -> str:
    """Prepend this interpreter's bin folder to ``environ``'s PATH (``os.environ`` by default); returns it.

    A job's entrypoint runs on the head in the environment of the process that started Ray, so a bare
    ``python`` there is whatever came first on that process's PATH: the system interpreter when the stack was
    started as ``.venv/bin/chainsight up`` without activating the venv. Naming the venv too makes ``python``
    in every job, worker and replica the project's."""
    env = os.environ if environ is None else environ
    bin_dir = str(Path(sys.executable).parent)
    parts = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != bin_dir]
    env["PATH"] = os.pathsep.join([bin_dir, *parts])
    if sys.prefix != sys.base_prefix:
        env["VIRTUAL_ENV"] = sys.prefix
    return bin_dir


def workers_share_driver_disk(nodes: Sequence[dict[str, Any]], driver_node_id: str) -> bool:
    """Whether Ray Train workers would run where the driver is (``ray.nodes()``): one live node, the driver's,
    with CPUs for them. Otherwise their checkpoints need storage every pod reaches (an object-store URI or a
    shared volume): Ray Train refuses a folder the workers' nodes do not see."""
    alive = [n for n in nodes if n.get("Alive")]
    driver = next((n for n in alive if n.get("NodeID") == driver_node_id), None)
    return len(alive) == 1 and driver is not None and bool(driver.get("Resources", {}).get("CPU"))
