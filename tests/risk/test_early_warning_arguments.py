"""The early-warning job's command line (``python -m deployments.jobs early-warning``, ``chainsight risk scan``): a
bad value is refused in one line, exit 2, before the settings are read or Ray starts."""

from __future__ import annotations

import pytest

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
