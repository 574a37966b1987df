"""The nightly job's composition: both parts run, and the night fails if either did."""

from __future__ import annotations

import pytest

from deployments.nightly_job import run_in_turn


def stand_in(ran: list[str], name: str, outcome: BaseException | None):
    def job_main(options: list[str]) -> None:
        ran.append(name)
        if outcome is not None:
            raise outcome

    return job_main


@pytest.mark.parametrize(
    ("forecasts", "early_warning", "failed"),
    [
        (None, None, []),
        (SystemExit("forecasts failed for 1 tenant"), None, ["batch-forecast"]),
        (RuntimeError("database gone"), SystemExit(0), ["batch-forecast"]),
        (None, SystemExit("early warning failed"), ["early-warning"]),
        (SystemExit(1), RuntimeError("boom"), ["batch-forecast", "early-warning"]),
    ],
)
def test_the_early_warning_runs_whatever_the_forecasts_did_and_each_failure_is_reported(
    forecasts, early_warning, failed
) -> None:
    ran: list[str] = []
    failures = run_in_turn(
        [
            ("batch-forecast", stand_in(ran, "batch-forecast", forecasts), []),
            ("early-warning", stand_in(ran, "early-warning", early_warning), []),
        ]
    )
    assert ran == ["batch-forecast", "early-warning"]
    assert [failure.split(":")[0] for failure in failures] == failed


def test_a_negative_metrics_linger_is_refused_before_either_part_runs(monkeypatch, capsys) -> None:
    # Before, it went on to the batch forecast (which refuses it since 2026-12-07) and the early warning ran anyway.
    from deployments import nightly_job

    def ran(steps):
        raise AssertionError("a part of the night ran with a bad argument")

    monkeypatch.setattr(nightly_job, "run_in_turn", ran)
    with pytest.raises(SystemExit) as exit_:
        nightly_job.main(["--metrics-linger-s", "-1"])
    assert exit_.value.code == 2
    message = "argument --metrics-linger-s: must be a number of at least 0, got '-1'"
    assert capsys.readouterr().err.splitlines()[-1] == f"python -m deployments.jobs nightly: error: {message}"
