"""The due-sync entry points report failed syncs with their exit status, as the other jobs do."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from deployments import integrations_job
from deployments.cli import app

SUMMARY = {"claimed": 2, "by_status": {"succeeded": 1, "failed": 1}, "runs": []}


@pytest.fixture
def one_sync_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    # No Ray and no ERP here: what is under test is what the entry points do with the summary of the runs.
    monkeypatch.setattr(integrations_job, "run_due_syncs", lambda *args, **kwargs: SUMMARY)
    monkeypatch.setattr("common.ray_connection.connect_ray", lambda **kwargs: None)
    monkeypatch.setattr("deployments.cli_erp.ensure_database_url", lambda: "postgresql://unused")


def test_the_job_exits_non_zero_when_a_scheduled_sync_failed(one_sync_failed: None) -> None:
    # Before, it printed the summary and exited 0: the RayCronJob reported success while nothing synced.
    with pytest.raises(SystemExit, match="1 scheduled sync"):
        integrations_job.main(["--due"])


def test_chainsight_sync_due_exits_1_when_a_scheduled_sync_failed(one_sync_failed: None) -> None:
    result = CliRunner().invoke(app, ["sync-due"])
    assert result.exit_code == 1 and '"failed": 1' in result.output
