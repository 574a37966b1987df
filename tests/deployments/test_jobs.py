"""`python -m deployments.jobs`: the one command every cluster job runs through."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.config import Settings
from deployments.jobs import JOBS, main

REPO = Path(__file__).resolve().parents[2]


def run_jobs(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deployments.jobs", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_help_lists_every_job_with_what_it_does(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    out = capsys.readouterr().out
    assert exited.value.code == 0
    for name, job in JOBS.items():
        assert f"  {name}" in out and job.summary in out


def test_an_unknown_job_exits_2_naming_the_jobs_there_are(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["weekly"])
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert "unknown job 'weekly'" in err and ", ".join(JOBS) in err


@pytest.mark.parametrize("name", sorted(JOBS))
def test_every_job_module_has_a_main_that_takes_its_options(name: str) -> None:
    job_main = importlib.import_module(JOBS[name].module).main
    with pytest.raises(SystemExit) as exited:
        job_main(["--help"])
    assert exited.value.code == 0


def test_a_job_run_through_the_command_prints_its_summary_as_one_json_line(settings: Settings) -> None:
    result = run_jobs("maintenance", env={"DATABASE_URL": str(settings.database_url), "ENVIRONMENT": "test"})
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(summary) == {"reservations_released", "idempotency_keys_deleted", "carrier_deliveries_deleted"}
