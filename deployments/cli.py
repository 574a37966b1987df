"""The ``chainsight`` command: run the whole local stack, or each step alone."""

from __future__ import annotations

import signal
import time
from typing import Annotated
from uuid import UUID

import typer

from common.config import Environment, get_settings
from inventory.demo import (
    DEMO_ADMIN_ID,
    DEMO_PLANNER_ID,
    DEMO_TENANT_ID,
    DEMO_VIEWER_ID,
    OTHER_ADMIN_ID,
    OTHER_TENANT_ID,
)

app = typer.Typer(help="Chainsight: supply-chain intelligence on Ray.", no_args_is_help=True)

DEMO_USERS = {
    "admin": (DEMO_ADMIN_ID, DEMO_TENANT_ID, "ada.admin@northwind.example"),
    "planner": (DEMO_PLANNER_ID, DEMO_TENANT_ID, "pat.planner@northwind.example"),
    "viewer": (DEMO_VIEWER_ID, DEMO_TENANT_ID, "vic.viewer@northwind.example"),
    "globex-admin": (OTHER_ADMIN_ID, OTHER_TENANT_ID, "gus@globex.example"),
}


@app.command("db-url")
def db_url() -> None:
    """Print the database URL, starting the embedded PostgreSQL (left running) when DATABASE_URL is unset."""
    from deployments.local_stack import ensure_database

    typer.echo(ensure_database(get_settings(), cleanup=None))


@app.command()
def migrate() -> None:
    """Apply pending SQL migrations (safe to run from several processes at once)."""
    from deployments.local_stack import ensure_database
    from deployments.local_stack import migrate as run_migrations

    applied = run_migrations(ensure_database(get_settings(), cleanup=None))
    typer.echo(f"applied migrations: {applied}" if applied else "schema is up to date")


@app.command()
def seed(days: Annotated[int, typer.Option(min=30, max=1500, help="days of stock history")] = 365) -> None:
    """Load the demo tenants and a year of stock history (skipped if already loaded)."""
    from deployments.local_stack import ensure_database
    from deployments.local_stack import seed as run_seed

    loaded = run_seed(ensure_database(get_settings(), cleanup=None), days=days)
    typer.echo("demo data loaded" if loaded else "demo data already present")


@app.command()
def token(
    user: Annotated[str, typer.Argument(help="admin, planner, viewer, globex-admin, or a user UUID")] = "planner",
    hours: Annotated[int, typer.Option(min=1, max=720)] = 12,
) -> None:
    """Mint a development access token (HS256, development secret). Refused in production."""
    typer.echo(_dev_token(user, hours))


@app.command("copilot-model")
def copilot_model() -> None:
    """Convert the packaged SmolLM2 GGUF into the safetensors folder vLLM loads (once; `up` does it too)."""
    from copilot.model_files import ensure_smollm2_folder

    typer.echo(ensure_smollm2_folder(get_settings().copilot_model_dir))


@app.command()
def serve() -> None:
    """Deploy the Serve application to a Ray cluster (RAY_ADDRESS, or a new local one) and wait."""
    from deployments.local_stack import start_ray, start_serve

    settings = get_settings()
    start_ray(settings)
    stack = start_serve(settings)
    typer.echo(f"API: {stack.api_url}")
    _wait_forever()


@app.command()
def up(
    seed_demo: Annotated[bool, typer.Option("--seed/--no-seed", help="load the demo data")] = True,
) -> None:
    """Everything, locally: database, migrations, demo data, Ray, the Serve application."""
    from deployments.local_stack import ensure_database, migrate, seed, start_ray, start_serve

    settings = get_settings()
    url = ensure_database(settings)
    typer.echo(f"PostgreSQL ready ({'DATABASE_URL' if settings.database_url else 'embedded, pgvector'})")
    applied = migrate(url)
    typer.echo(f"migrations applied: {applied or 'none pending'}")
    if seed_demo:
        typer.echo("demo data loaded" if seed(url) else "demo data already present")
    dashboard = start_ray(settings)
    stack = start_serve(settings)
    typer.echo("")
    typer.echo("Chainsight is running.")
    typer.echo(f"  API:            {stack.api_url}")
    typer.echo(f"  OpenAPI docs:   {stack.docs_url}")
    typer.echo(f"  Ray dashboard:  {dashboard or 'not started'}")
    typer.echo(f"  Metrics:        {stack.api_url.removesuffix('/api/v1')}/metrics")
    if settings.environment is not Environment.PRODUCTION and seed_demo:
        planner = _dev_token("planner", 12)
        typer.echo("")
        typer.echo("Demo tenant 'Northwind Components'; a planner token valid for 12 hours:")
        typer.echo(f"  export TOKEN={planner}")
        typer.echo(f'  curl -H "Authorization: Bearer $TOKEN" {stack.api_url}/stock-levels?limit=5')
        typer.echo("Other demo users: `chainsight token admin|viewer|globex-admin`.")
    typer.echo("Press Ctrl-C to stop.")
    _wait_forever()


@app.command()
def sync(
    tenant: Annotated[UUID, typer.Option(help="tenant id")],
    connector: Annotated[UUID, typer.Option(help="ERP connector id")],
    on_ray: Annotated[bool, typer.Option("--on-ray", help="run as a Ray task on RAY_ADDRESS's cluster")] = False,
) -> None:
    """Sync one ERP connector of one tenant now (acting as the connector's acting member); prints the run."""
    import asyncio
    import json

    from deployments.integrations_job import run_sync_job, sync_task

    if on_ray:
        import ray

        ray.init(address=get_settings().ray_address or "auto")
        run = ray.get(sync_task().remote(str(tenant), str(connector), None, "cli"))
    else:
        run = asyncio.run(run_sync_job(str(tenant), str(connector)))
    typer.echo(json.dumps(run, default=str))
    if run["status"] == "failed":
        raise typer.Exit(1)


def _dev_token(user: str, hours: int) -> str:
    from common.dev_tokens import issue_hs256_token

    settings = get_settings()
    if settings.environment is Environment.PRODUCTION:
        raise typer.BadParameter("development tokens are refused in production")
    secret = settings.jwt_secret
    if secret is None:
        raise typer.BadParameter("no JWT secret configured")
    if user in DEMO_USERS:
        subject, tenant, email = DEMO_USERS[user]
    else:
        try:
            subject, tenant, email = UUID(user), None, None
        except ValueError as exc:
            raise typer.BadParameter(f"unknown user {user!r}") from exc
    return issue_hs256_token(
        secret,
        subject,
        audience=settings.jwt_audience,
        issuer=settings.expected_issuer,
        expires_in_s=hours * 3600,
        email=email,
        tenant_id=tenant,
    )


def _wait_forever() -> None:
    stop = False

    def on_signal(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    while not stop:
        time.sleep(0.5)
    typer.echo("stopping")
