"""`chainsight risk import/backtest`: the database is found like `db-url` finds it, and a user's mistake is one
line on stderr with exit status 2, never a traceback."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from common.config import get_settings
from deployments.cli import app


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_importing_a_missing_file_prints_one_line_and_no_traceback(cli_env, tmp_path):
    result = CliRunner().invoke(app, ["risk", "import", "--file", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith("error:") and "nope.csv" in result.output
    assert "Traceback" not in result.output


def test_a_date_format_with_a_repeated_directive_prints_one_line_error(cli_env, world, tmp_path):
    data = tmp_path / "h.csv"
    data.write_text("supplier,order_date,promised_date,quantity,value\nA,2025-01-01,2025-01-05,1,1\n")
    options = ["--tenant", str(world.tenant.id), "--date-format", "%Y-%m-%m"]
    result = CliRunner().invoke(app, ["risk", "import", "--file", str(data), *options])
    assert result.exit_code == 2 and result.output.startswith("error: date_format '%Y-%m-%m'"), result.output


def test_a_malformed_mode_mapping_prints_one_line_error(cli_env, tmp_path):
    data = tmp_path / "h.csv"
    data.write_text("supplier,order_date,promised_date,quantity,value\nA,2025-01-01,2025-01-05,1,1\n")
    result = CliRunner().invoke(app, ["risk", "import", "--file", str(data), "--mode-map", "Boat=submarine"])
    assert result.exit_code == 2 and result.output.startswith("error: mode mapping entry")
