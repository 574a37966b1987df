"""The ``chainsight sync`` and ``sync-due`` commands: ERP syncs now, one connector or every due one."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import typer

from common.config import get_settings
from deployments.cli_support import ensure_database_url, fail


def sync(
    tenant: Annotated[UUID, typer.Option(help="tenant id")],
    connector: Annotated[UUID, typer.Option(help="ERP connector id")],
    on_ray: Annotated[bool, typer.Option("--on-ray", help="run as a Ray task on RAY_ADDRESS's cluster")] = False,
) -> None:
    """Sync one ERP connector of one tenant now (acting as the connector's acting member); prints the run."""
    import asyncio
    import json

    from common.errors import DomainError
    from deployments.integrations_job import run_sync_job, sync_task

    ensure_database_url()
    try:
        if on_ray:
            import ray

            from common.ray_connection import connect_ray

            connect_ray(get_settings().ray_address or "auto")
            run = ray.get(sync_task().remote(str(tenant), str(connector), None, "cli"))
        else:
            run = asyncio.run(run_sync_job(str(tenant), str(connector)))
    except DomainError as exc:  # an unknown or disabled connector, an acting member no longer a writer
        fail(exc)
    typer.echo(json.dumps(run, default=str))
    if run["status"] == "failed":
        raise typer.Exit(1)


def sync_due(
    tenant: Annotated[UUID | None, typer.Option(help="only this tenant's connectors")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="claim at most this many connectors")] = 100,
) -> None:
    """Sync every ERP connector whose schedule is due, as Ray tasks (RAY_ADDRESS's cluster or a local one)."""
    import json

    from common.ray_connection import connect_ray
    from deployments.integrations_job import failed_syncs, run_due_syncs

    ensure_database_url()
    settings = get_settings()
    connect_ray(settings=settings)
    summary = run_due_syncs(settings, tenant_id=tenant, limit=limit)
    typer.echo(json.dumps(summary))
    if failed_syncs(summary):
        typer.echo(f"error: {failed_syncs(summary)} scheduled sync(s) failed", err=True)
        raise typer.Exit(1)
