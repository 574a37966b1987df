"""The early-warning job's command line (``python -m deployments.jobs early-warning``, ``chainsight risk scan``): a
bad value is refused in one line, exit 2, before the settings are read or Ray starts."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from common.errors import PoolExhaustedError
from deployments import cli_risk
from deployments.cli import app as cli
from risk import early_warning


@pytest.fixture
def no_work(monkeypatch):
    def started():
        raise AssertionError("the job read its settings (and would start Ray) with bad arguments")

    monkeypatch.setattr(early_warning, "get_settings", started)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--workers", "0"], "argument --workers: must be a whole number of at least 1, got '0'"),
        (["--workers", "-2"], "argument --workers: must be a whole number of at least 1, got '-2'"),
        (["--workers", "two"], "argument --workers: must be a whole number of at least 1, got 'two'"),
    ],
)
def test_a_bad_argument_is_refused_in_one_line_before_any_work(no_work, capsys, options, message):
    # Before, --workers 0 read the settings, started a one-CPU Ray and asked Ray Train for no workers; two was
    # refused by int() alone, its message not saying what the option takes.
    with pytest.raises(SystemExit) as exit_:
        early_warning.execute(options)
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"python -m deployments.jobs early-warning: error: {message}"


@pytest.mark.parametrize(
    ("today", "message"),
    [
        ("2300-01-01", "argument --today: 2300-01-01 is not between 1900-01-01 and 2199-12-31"),
        ("1899-12-31", "argument --today: 1899-12-31 is not between 1900-01-01 and 2199-12-31"),
        ("2024-13-01", "argument --today: must be a date (YYYY-MM-DD), got '2024-13-01'"),
    ],
)
def test_a_day_no_plan_may_name_is_refused_in_one_line_before_any_work(no_work, capsys, today, message):
    # Before, --today 2300-01-01 read the settings, started Ray and was refused by run() (exit 1) only then.
    with pytest.raises(SystemExit) as exit_:
        early_warning.execute(["--today", today])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"python -m deployments.jobs early-warning: error: {message}"


@pytest.mark.parametrize(
    ("today", "message"),
    [
        ("2300-01-01", "--today: 2300-01-01 is not between 1900-01-01 and 2199-12-31"),
        ("2024-13-01", "--today: must be a date (YYYY-MM-DD), got '2024-13-01'"),
    ],
)
def test_the_risk_scan_command_refuses_such_a_day_before_the_database_or_ray(monkeypatch, today, message):
    def started(*_: object, **__: object):
        raise AssertionError("the command found (or started) its database with bad arguments")

    monkeypatch.setattr(cli_risk, "ensure_database_url", started)
    monkeypatch.setattr(early_warning, "execute", started)
    result = CliRunner().invoke(cli, ["risk", "scan", "--today", today], env={"COLUMNS": "400"})
    assert result.exit_code == 2, result.output
    assert result.output == f"error: {message}\n"


BUSY = "every database connection is busy (waited 5.0 s, DATABASE_ACQUIRE_TIMEOUT_S); retry shortly"


def test_the_risk_scan_command_says_in_one_line_that_the_database_stayed_busy(monkeypatch):
    # Before 2026-12-08 only InvalidInputError was caught: the scan's bounded wait for a connection (7df3718) ended
    # `chainsight risk scan` with a PoolExhaustedError traceback.
    def busy(*_: object, **__: object):
        raise PoolExhaustedError(BUSY)

    monkeypatch.setattr(cli_risk, "ensure_database_url", lambda *_, **__: None)
    monkeypatch.setattr(early_warning, "execute", busy)
    result = CliRunner().invoke(cli, ["risk", "scan", "--no-train"], env={"COLUMNS": "400"})
    assert (result.exit_code, result.output) == (2, f"error: {BUSY}\n")


def test_the_early_warning_job_says_in_one_line_that_the_database_stayed_busy(monkeypatch):
    def busy(*_: object, **__: object):
        raise PoolExhaustedError(BUSY)

    monkeypatch.setattr(early_warning, "execute", busy)
    with pytest.raises(SystemExit, match=r"^early-warning: every database connection is busy"):
        early_warning.main([])
