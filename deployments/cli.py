"""The ``chainsight`` command: run the whole local stack, or each step alone."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Annotated
from uuid import UUID

import asyncpg
import typer

from common.config import Environment, get_settings
from common.errors import DomainError
from deployments import cli_erp, cli_forecast
from deployments.cli_risk import first_risk_scan, risk_app
from deployments.cli_support import (
    database_location,
    ensure_database_url,
    fail,
    refuse_held_ports,
    stop_serve_at_exit,
)
from inventory.demo import (
    DEMO_ADMIN_ID,
    DEMO_PLANNER_ID,
    DEMO_TENANT_ID,
    DEMO_VIEWER_ID,
    OTHER_ADMIN_ID,
    OTHER_TENANT_ID,
)

app = typer.Typer(help="Chainsight: supply-chain intelligence on Ray.", no_args_is_help=True)
app.add_typer(risk_app, name="risk")


@app.callback()
def _valid_settings() -> None:
    """A setting the environment or .env gets wrong (ENVIRONMENT=staging) ends any command in one line per error,
    not a traceback."""
    from pydantic import ValidationError

    get_settings.cache_clear()
    try:
        get_settings()
    except ValidationError as exc:
        fail("; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()))


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

    url = ensure_database(get_settings(), cleanup=None)
    try:
        applied = run_migrations(url)
    except DomainError as exc:  # an edited, already-applied migration
        fail(exc)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        fail(f"cannot migrate the database at {database_location(url)}: {exc}")
    typer.echo(f"applied migrations: {applied}" if applied else "schema is up to date")


@app.command()
def seed(days: Annotated[int, typer.Option(min=30, max=1500, help="days of stock history")] = 365) -> None:
    """Load the demo tenants and a year of stock history (skipped if already loaded)."""
    from deployments.local_stack import seed as run_seed

    if get_settings().environment is Environment.PRODUCTION:
        fail("the demo data is refused in production: its tenants and append-only ledger could never be removed")
    loaded = run_seed(ensure_database_url(), days=days)  # reachable and migrated, or one line saying which not
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
def serve(
    schedules: Annotated[
        bool,
        typer.Option(
            "--schedules/--no-schedules",
            help="run due ERP syncs and housekeeping here too (--no-schedules where the cluster's CronJobs do)",
        ),
    ] = True,
) -> None:
    """Deploy the Serve application to a Ray cluster (RAY_ADDRESS, or a new local one) and wait."""
    from deployments.local_stack import start_ray, start_schedules, start_serve

    if not get_settings().ray_address:
        # A local cluster's replicas inherit DATABASE_URL: the embedded database `migrate` and `seed` used, as
        # `up` finds it (without it every replica failed its start and the deploy ended in a traceback).
        ensure_database_url()
    settings = get_settings()
    refuse_held_ports(settings)
    start_ray(settings)
    stop_serve_at_exit(settings)
    stack = start_serve(settings)
    typer.echo(f"API: {stack.api_url}")
    if schedules and settings.database_url:
        # A container's `chainsight serve` (Compose, docker run) has no CronJobs beside it: without these, due
        # connectors never synced and expired holds were never released there.
        start_schedules(settings, settings.database_url)
        typer.echo("Schedules: due ERP syncs and housekeeping run in this process")
    elif schedules:
        typer.echo("Schedules: off (no DATABASE_URL in this process)")
    _wait_forever()


@app.command()
def up(
    seed_demo: Annotated[bool, typer.Option("--seed/--no-seed", help="load the demo data")] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="stream Ray, Serve and vLLM output here")] = False,
) -> None:
    """Everything, locally: database, migrations, demo data, Ray, the Serve application.

    Shows one line per step; the components' own output goes to .chainsight/logs/ (or here with --verbose)."""
    from deployments.job_env import submit_command
    from deployments.local_stack import (
        app_args_from,
        ensure_database,
        migrate,
        ray_logs_dir,
        seed,
        start_ray,
        start_schedules,
        start_serve,
    )
    from deployments.startup_display import link_log, startup_output

    settings = get_settings()
    refuse_held_ports(settings)
    log_dir = Path(".chainsight/logs")
    try:
        with startup_output(log_dir, verbose=verbose) as display:
            with display.step("PostgreSQL") as step:
                url = ensure_database(settings)
                step.detail = "DATABASE_URL" if settings.database_url else "embedded, pgvector"
                # ensure_database exported the embedded server's URL: code that reads the settings later in this
                # process (the risk scan) must see it, not the copy cached before.
                get_settings.cache_clear()
            if not settings.database_url:
                link_log(log_dir, "postgres.log", settings.embedded_postgres_dir / "log")
            with display.step("migrations") as step:
                applied = migrate(url)
                step.detail = f"applied {applied}" if applied else "up to date"
            if seed_demo and settings.environment is Environment.PRODUCTION:
                seed_demo = False  # as --no-seed: the demo's tenants and append-only ledger could never be removed
                display.done("demo data", "skipped in production", warning=True)
            if seed_demo:
                with display.step("demo data") as step:
                    step.detail = "loaded" if seed(url) else "already present"
            with display.step("LLM weights" if settings.copilot_enabled else "application settings") as step:
                args = app_args_from(settings)  # converts the packaged SmolLM2 once when no model is configured
                step.detail = args.llm.model_source if args.llm else "copilot off"
            with display.step("Ray") as step:
                dashboard = start_ray(settings, log_to_driver=verbose)
                stop_serve_at_exit(settings)
                logs = ray_logs_dir()
                step.detail = f"logs in {link_log(log_dir, 'ray', logs)}" if logs else "joined RAY_ADDRESS"
            with display.step("Serve application") as step:
                stack = start_serve(settings, args, on_deployment=lambda name, s: display.done(f"  {name}", "", s))
                step.detail = "healthy"
            # Scheduled ERP syncs (connectors with sync_interval_minutes) and housekeeping, in background threads.
            scheduler, housekeeping = start_schedules(settings, url)
            if seed_demo:
                with display.step("risk models and scan") as step:
                    step.detail, step.warning = first_risk_scan()
            display.console.print(f"  started in {display.total_s():.0f} s")
    except Exception as exc:
        # The step's line already said what failed and where the full output is.
        raise typer.Exit(1) from exc
    typer.echo("")
    typer.echo("Chainsight is running.")
    typer.echo(f"  API:            {stack.api_url}")
    typer.echo(f"  OpenAPI docs:   {stack.docs_url}")
    typer.echo(f"  Ray dashboard:  {dashboard or 'not started'}")
    if dashboard:
        typer.echo(f"  Batch job:      {submit_command(dashboard)}")
    if settings.environment is not Environment.PRODUCTION:  # production serves them only on Ray's metrics port
        typer.echo(f"  Metrics:        {stack.api_url.removesuffix('/api/v1')}/metrics")
    typer.echo(f"  ERP schedules:  due connectors synced, checked every {scheduler.every_s:.0f} s")
    typer.echo(f"  Housekeeping:   expired holds released, old keys deleted, every {housekeeping.every_s:.0f} s")
    if not verbose:
        typer.echo(f"  Logs:           {log_dir}/ (up.log, ray/, postgres.log; `chainsight up --verbose` streams them)")
    if settings.environment is not Environment.PRODUCTION and seed_demo:
        planner = _dev_token("planner", 12)
        typer.echo("")
        typer.echo("Demo tenant 'Northwind Components'; a planner token valid for 12 hours:")
        typer.echo(f"  export TOKEN={planner}")
        typer.echo(f'  curl -H "Authorization: Bearer $TOKEN" {stack.api_url}/stock-levels?limit=5')
        typer.echo(f'  curl -H "Authorization: Bearer $TOKEN" {stack.api_url}/ai/risk/suppliers')
        typer.echo("Other demo users: `chainsight token admin|viewer|globex-admin`.")
    typer.echo("Press Ctrl-C to stop.")
    _wait_forever()
    scheduler.stop()
    housekeeping.stop()


app.command()(cli_erp.sync)
app.command("sync-due")(cli_erp.sync_due)


app.command()(cli_forecast.forecast)


@app.command("forecast-batch")
def forecast_batch(
    freq: Annotated[str, typer.Option(help="D or W")] = "D",
    horizon: Annotated[
        int | None, typer.Option(help="steps, at most 366 for D and 104 for W (default: 28 for D, 13 for W)")
    ] = None,
    tenant: Annotated[list[UUID] | None, typer.Option(help="only these tenants (repeatable)")] = None,
    profile: Annotated[str, typer.Option(help="full (adds the global xgboost) or fast")] = "full",
) -> None:
    """The nightly batch: forecast every active product x warehouse over Ray, write idempotently, promote."""
    import json
    from dataclasses import asdict

    from training.batch_forecast import run_with_ray
    from training.job_args import horizon_problem

    # Refused as the job refuses them (training.job_args), in one line before the database or Ray starts.
    if freq not in ("D", "W"):
        fail(f"--freq: must be D or W, got {freq!r}")
    if profile not in ("fast", "full"):
        fail(f"--profile: must be fast or full, got {profile!r}")
    problem = None if horizon is None else horizon_problem(horizon, freq)
    if problem:
        fail(f"--horizon: {problem}")
    url = ensure_database_url()
    summaries = run_with_ray(url, freq=freq, horizon=horizon, tenant_ids=tenant, profile=profile)
    typer.echo(json.dumps([asdict(s) for s in summaries], default=str, indent=2))
    failed = [s.tenant_id for s in summaries if s.error]
    if failed:
        typer.echo(f"error: forecasts failed for {', '.join(failed)} (the error is in the summary above)", err=True)
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
