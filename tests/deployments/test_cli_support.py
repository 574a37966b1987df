"""The database the ``chainsight`` commands use: one that cannot be reached or is not migrated ends the command in
one line (exit 2) before any Ray work, and a command's domain refusal is one line too."""

from __future__ import annotations

import asyncio
import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from typer.testing import CliRunner

from common.config import get_settings
from deployments.cli import app
from inventory.demo import DEMO_TENANT_ID


def run_cli(monkeypatch: pytest.MonkeyPatch, database_url: str, *arguments: str):
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(arguments), env={"COLUMNS": "400"})
    finally:
        get_settings.cache_clear()


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and result.output.startswith("error: "), result.output
    assert "Traceback" not in result.output
    return result.output


def test_an_unreachable_database_is_one_line_without_its_password(monkeypatch):
    # Before, a ConnectionRefusedError traceback (after Ray had started, for the commands that use it).
    result = run_cli(monkeypatch, "postgresql://u:s3cret@127.0.0.1:1/nodb", "risk", "backtest", "--cutoff",
                     "2025-01-01", "--local")  # fmt: skip
    output = one_line_error(result)
    assert "cannot use the database at 127.0.0.1:1/nodb" in output and "s3cret" not in output


def test_a_database_without_the_schema_asks_for_migrate(monkeypatch, database_url, tmp_path):
    # Before, "relation app.members does not exist" as a traceback from `chainsight risk import`.
    name = f"empty_{uuid.uuid4().hex[:8]}"

    async def execute(statement: str) -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    try:
        empty = urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))
        history = tmp_path / "history.csv"
        history.write_text("supplier,order_date,promised_date,quantity,value\nA,2025-01-01,2025-01-05,1,1\n")
        output = one_line_error(run_cli(monkeypatch, empty, "risk", "import", "--file", str(history)))
        assert "has no Chainsight tables yet: run `chainsight migrate` first" in output
    finally:
        asyncio.run(execute(f'DROP DATABASE "{name}"'))


@pytest.mark.parametrize("cutoff", ["0001-01-01", "9999-12-31"])
def test_a_backtest_cutoff_outside_the_years_the_models_read_is_one_line(monkeypatch, database_url, cutoff):
    # Before, 0001-01-01 was an OverflowError traceback (three years of history before it).
    result = run_cli(monkeypatch, database_url, "risk", "backtest", "--cutoff", cutoff, "--local")
    assert f"between 1900-01-01 and 2262-04-10, got {cutoff}" in one_line_error(result)


def test_syncing_an_unknown_connector_is_one_line(monkeypatch, database_url):
    # Before, the connector's NotFoundError came out as a traceback.
    tenant, connector = uuid.uuid4(), uuid.uuid4()
    result = run_cli(monkeypatch, database_url, "sync", "--tenant", str(tenant), "--connector", str(connector))
    assert str(connector) in one_line_error(result)


@pytest.mark.parametrize("command", ["scan", "backtest", "import"])
def test_risk_help_needs_no_database(monkeypatch, command):
    # Before, the risk group's callback reached the database first: with an unreachable one, --help was an error.
    result = run_cli(monkeypatch, "postgresql://u:s3cret@127.0.0.1:1/nodb", "risk", command, "--help")
    assert result.exit_code == 0 and f"risk {command} [OPTIONS]" in result.output, result.output


def test_serve_on_a_local_cluster_finds_the_database_before_ray_starts(monkeypatch):
    # Before, `chainsight serve` after `migrate` and `seed` started replicas without DATABASE_URL: every one failed
    # its start and the deploy ended in a traceback.
    seen: list[str | None] = []
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)

    def found() -> str:
        # Through monkeypatch, so the URL goes with the test (an os.environ write outlived it and reached other
        # tests of the same process: Settings then read DATABASE_URL=pg://x).
        monkeypatch.setenv("DATABASE_URL", "pg://x")
        return "pg://x"

    monkeypatch.setattr("deployments.cli.ensure_database_url", found)
    monkeypatch.setattr("deployments.cli.refuse_held_ports", lambda settings: None)
    monkeypatch.setattr("deployments.cli.stop_serve_at_exit", lambda settings: None)
    monkeypatch.setattr("deployments.cli._wait_forever", lambda: None)
    monkeypatch.setattr(
        "deployments.local_stack.start_ray", lambda settings: seen.append(os.environ.get("DATABASE_URL"))
    )
    monkeypatch.setattr("deployments.local_stack.start_serve", lambda settings: type("Stack", (), {"api_url": "u"}))
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["serve"])
    get_settings.cache_clear()
    assert (result.exit_code, seen) == (0, ["pg://x"]), result.output


@pytest.mark.parametrize(("options", "started"), [([], ["pg://db"]), (["--no-schedules"], [])])
def test_serve_runs_the_due_syncs_and_housekeeping_unless_told_not_to(monkeypatch, options, started):
    # Before, only `up` ran them: in Compose or `docker run` (`chainsight serve`) due connectors never synced and
    # expired holds were never released.
    schedules: list[str] = []
    monkeypatch.setenv("DATABASE_URL", "pg://db")
    monkeypatch.setenv("RAY_ADDRESS", "ray://head:10001")
    monkeypatch.setattr("deployments.cli.refuse_held_ports", lambda settings: None)
    monkeypatch.setattr("deployments.cli.stop_serve_at_exit", lambda settings: None)
    monkeypatch.setattr("deployments.cli._wait_forever", lambda: None)
    monkeypatch.setattr("deployments.local_stack.start_ray", lambda settings: None)
    monkeypatch.setattr("deployments.local_stack.start_serve", lambda settings: type("Stack", (), {"api_url": "u"}))
    monkeypatch.setattr("deployments.local_stack.start_schedules", lambda settings, url: schedules.append(url))
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["serve", *options])
    get_settings.cache_clear()
    assert (result.exit_code, schedules) == (0, started), result.output


@pytest.mark.parametrize("command", ["migrate", "seed"])
def test_migrate_and_seed_on_an_unreachable_database_are_one_line(monkeypatch, command):
    # Before, a 197-line ConnectionRefusedError traceback.
    result = run_cli(monkeypatch, "postgresql://u:s3cret@127.0.0.1:1/nodb", command)
    assert "127.0.0.1:1/nodb" in one_line_error(result) and "s3cret" not in result.output


def test_a_setting_the_environment_gets_wrong_is_one_line(monkeypatch):
    # Before, ENVIRONMENT=staging made `chainsight token` (and `make run`) a 64-line traceback.
    monkeypatch.setenv("ENVIRONMENT", "staging")
    assert "environment" in one_line_error(run_cli(monkeypatch, "postgresql://u:p@127.0.0.1:1/nodb", "token"))


def test_seed_is_refused_in_production_and_loads_no_demo_tenant(monkeypatch, database_url):
    # Before, `chainsight seed` loaded the demo tenants into a production database, with an append-only stock ledger
    # that cannot be deleted.
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SUPABASE_URL", "https://auth.chainsight.test")
    output = one_line_error(run_cli(monkeypatch, database_url, "seed"))
    assert "refused in production" in output

    async def demo_tenant() -> object:
        conn = await asyncpg.connect(database_url)
        try:
            return await conn.fetchval("SELECT 1 FROM app.tenants WHERE id = $1", DEMO_TENANT_ID)
        finally:
            await conn.close()

    assert asyncio.run(demo_tenant()) is None


def test_up_in_production_skips_the_demo_data_and_says_so(monkeypatch):
    # Before, `chainsight up` (seeding by default) loaded the demo tenants into a production database.
    seeded: list[str] = []
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SUPABASE_URL", "https://auth.chainsight.test")
    monkeypatch.setenv("DATABASE_URL", "postgresql://chainsight@db.internal/chainsight")
    monkeypatch.setattr("deployments.cli.refuse_held_ports", lambda settings: None)
    monkeypatch.setattr("deployments.local_stack.ensure_database", lambda settings: "pg://db")
    monkeypatch.setattr("deployments.local_stack.migrate", lambda url: [])
    monkeypatch.setattr("deployments.local_stack.seed", seeded.append)

    def stop_after_the_demo_step(settings):
        raise RuntimeError("stopped after the demo data step")

    monkeypatch.setattr("deployments.local_stack.app_args_from", stop_after_the_demo_step)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["up", "--verbose"], env={"COLUMNS": "400"})
    finally:
        get_settings.cache_clear()
    assert "demo data" in result.output and "skipped in production" in result.output, result.output
    assert seeded == []


def test_risk_scan_help_says_it_scans_every_tenant_by_default(monkeypatch):
    # Before, its --tenant help read "default: the only one, or the demo tenant" (the backtest's and import's).
    result = run_cli(monkeypatch, "postgresql://u:p@127.0.0.1:1/nodb", "risk", "scan", "--help")
    assert result.exit_code == 0 and "every tenant with an admin" in result.output, result.output
    assert "demo tenant" not in result.output
