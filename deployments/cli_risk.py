"""``chainsight risk``: the early-warning scan, the disruption model's backtest and the delivery-history import."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from common.errors import DomainError
from deployments.cli_support import ensure_database_url, fail, option_value, parse_day, parse_uuid


def first_risk_scan() -> tuple[str, str | None]:
    """Train each tenant's disruption model (Ray Train) if due, score open orders, raise the first alerts; the
    summary, or a warning: the API still serves without a trained model (baseline predictions)."""
    from risk.early_warning import execute

    try:
        outcomes = execute(["--workers=2"])
    except Exception as exc:
        logging.getLogger(__name__).exception("risk scan failed")
        return "", f"failed ({type(exc).__name__}); predictions fall back to suppliers' late rates"
    scans = [o["scan"] for o in outcomes if "scan" in o]
    scored = sum(s["lines_scored"] for s in scans)
    alerts = sum(sum(s["alerts_raised"].values()) for s in scans)  # counts per alert kind
    summary = f"{len(outcomes)} tenants, {scored} open lines scored, {alerts} alerts"
    failed = [f"{o['tenant_id']}: {o['error']}" for o in outcomes if "error" in o]
    return summary, (f"failed for {'; '.join(failed)}; their predictions fall back to suppliers' late rates"
                     if failed else None)  # fmt: skip


risk_app = typer.Typer(help="Supplier and disruption risk: early-warning scan, backtest, history import.")


TenantOption = Annotated[str | None, typer.Option(help="tenant UUID (default: the only one, or the demo tenant)")]


@risk_app.command("scan")
def risk_scan(
    # Its own help: the scan's default is every tenant, not the one TenantOption names.
    tenant: Annotated[str | None, typer.Option(help="only this tenant (default: every tenant with an admin)")] = None,
    today: Annotated[str | None, typer.Option(help="scan as of YYYY-MM-DD, 1900 to 2199 (default today)")] = None,
    retrain: Annotated[bool, typer.Option(help="train even if the current model is recent")] = False,
    train: Annotated[bool, typer.Option("--train/--no-train", help="train models that are due (Ray Train)")] = True,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Ray Train workers")] = 2,
) -> None:
    """The early-warning job: train due models, score open orders, raise alerts on threshold crossings."""
    _risk_scan(tenant=tenant, today=today, retrain=retrain, train=train, workers=workers)


def _risk_scan(*, tenant: str | None, today: str | None, retrain: bool, train: bool, workers: int) -> None:
    import json

    from risk.early_warning import execute
    from training.job_args import planned_day

    argv = [f"--workers={workers}"]
    argv += [f"--tenant={parse_uuid(tenant)}"] if tenant else []
    argv += [f"--today={option_value('--today', planned_day, today)}"] if today else []
    argv += ["--retrain"] if retrain else []
    argv += [] if train else ["--no-train"]
    # Here, not in a group callback: that ran before the arguments were parsed, so --help needed a database.
    ensure_database_url()
    try:
        outcomes = execute(argv)
    except DomainError as exc:  # a refused option, or the database busy past DATABASE_ACQUIRE_TIMEOUT_S
        fail(exc)
    typer.echo(json.dumps(outcomes, default=str, indent=2))
    failed = [o["tenant_id"] for o in outcomes if "error" in o]
    if failed:
        typer.echo(f"error: the scan failed for {', '.join(failed)} (the error is in the summary above)", err=True)
        raise typer.Exit(1)


@risk_app.command("backtest")
def risk_backtest(
    cutoff: Annotated[str, typer.Option(help="train on orders before YYYY-MM-DD, evaluate on the rest")],
    tenant: TenantOption = None,
    ray_train: Annotated[bool, typer.Option("--ray/--local", help="fit with Ray Train (2 workers) or in process")] = (
        True
    ),
) -> None:
    """ROC AUC, PR AUC, Brier score and calibration error of the disruption model on orders after the cutoff."""
    import asyncio
    import json

    from common.errors import DomainError
    from risk.commands import check_cutoff, run_backtest

    day, tenant_id = parse_day(cutoff), parse_uuid(tenant) if tenant else None  # before any database or Ray work
    try:
        check_cutoff(day)
    except DomainError as exc:
        fail(exc)
    ensure_database_url()
    fitter = None
    if ray_train:
        from common.ray_connection import connect_ray
        from risk.training import ray_fitter

        # RAY_ADDRESS joins a running cluster; otherwise a small local one with room for the two workers.
        connect_ray(num_cpus=3)
        fitter = ray_fitter(workers=2)
    try:
        result = asyncio.run(run_backtest(day, tenant_id, fitter))
    except DomainError as exc:
        fail(exc)
    typer.echo(json.dumps(result, default=str, indent=2))


@risk_app.command("import")
def risk_import(
    file: Annotated[str, typer.Option("--file", help="CSV of delivery history (see risk/history_import.py)")],
    tenant: TenantOption = None,
    mapping: Annotated[str | None, typer.Option(help="column=header,... for other exports")] = None,
    date_format: Annotated[str | None, typer.Option(help="strptime format of the dates (default: detected)")] = None,
    mode_map: Annotated[str | None, typer.Option(help="the export's mode names: 'Boat=sea,Lorry=road'")] = None,
    create_suppliers: Annotated[bool, typer.Option(help="create suppliers the file names")] = False,
    dry_run: Annotated[bool, typer.Option(help="validate and report only")] = False,
    currency: Annotated[str | None, typer.Option(help="ISO 4217 code of the values where a row names none")] = None,
) -> None:
    """Import delivery history; prints the report with every rejected row and why."""
    import asyncio
    import json
    from pathlib import Path

    from common.errors import DomainError
    from risk.commands import run_import
    from risk.history_import import (
        ImportOptions,
        parse_currency,
        parse_date_format,
        parse_mapping,
        parse_mode_mapping,
    )

    ensure_database_url()
    try:
        options = ImportOptions(
            parse_mapping(mapping),
            parse_date_format(date_format),
            create_suppliers,
            dry_run,
            parse_mode_mapping(mode_map),
            parse_currency(currency),
        )
        report = asyncio.run(run_import(Path(file), parse_uuid(tenant) if tenant else None, options))
    except (DomainError, OSError) as exc:
        fail(exc)
    typer.echo(json.dumps(report, default=str, indent=2))
