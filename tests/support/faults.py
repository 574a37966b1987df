"""Faults to inject while the API is under load: kill a Serve replica, restart PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import ray

from common.embedded_postgres import restart_embedded_postgres


def serve_replica_actor_names(deployment: str) -> list[str]:
    return [
        actor["name"]
        for actor in ray.util.list_named_actors(all_namespaces=True)
        if actor["namespace"] == "serve" and "SERVE_REPLICA" in actor["name"] and f"#{deployment}#" in actor["name"]
    ]


async def kill_one_replica(deployment: str = "InventoryAPI") -> str:
    """Kill one replica of ``deployment`` outright (as a crashed process would die); Serve replaces it."""
    names = serve_replica_actor_names(deployment)
    if not names:
        raise RuntimeError(f"no running replica of {deployment}")
    ray.kill(ray.get_actor(names[0], namespace="serve"), no_restart=True)
    return names[0]


async def restart_postgres(data_dir: Path) -> None:
    """Fast-restart the embedded PostgreSQL: every open session is cut, as in a failover."""
    await asyncio.to_thread(restart_embedded_postgres, data_dir)
