"""`chainsight up`'s quiet start: one line per step on the terminal, the components' output in the log file.

The display redirects the process's file descriptors, so it runs in a child process here, as `up` does.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from typer.testing import CliRunner

from deployments.cli import app
from tests.cluster.cluster_support import REPO

STARTUP = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from deployments.startup_display import startup_output

    with startup_output(Path(sys.argv[1]), verbose=sys.argv[2] == "verbose") as display:
        with display.step("database") as step:
            print("python noise")
            os.write(2, b"native noise\\n")
            step.detail = "embedded"
        with display.step("risk scan") as step:
            step.warning = "failed; baseline predictions"
        try:
            with display.step("Serve application"):
                raise RuntimeError("\\x1b[36mray::Replica\\x1b[39m replica crashed")
        except RuntimeError:
            pass
    print("Chainsight is running.")
    os.write(2, b"late ray warning\\n")
    """
)


def start(log_dir: Path, mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", STARTUP, str(log_dir), mode], capture_output=True, text=True, cwd=REPO, timeout=60
    )


def test_quiet_start_shows_one_line_per_step_and_keeps_component_output_in_the_log(tmp_path: Path) -> None:
    result = start(tmp_path / "logs", "quiet")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    (database,) = [line for line in lines if "database" in line]
    assert database.lstrip().startswith("✓") and "embedded" in database
    assert any(line.lstrip().startswith("!") and "baseline predictions" in line for line in lines)
    (failed,) = [line for line in lines if "Serve application" in line]
    assert failed.lstrip().startswith("✗")
    assert "RuntimeError: ray::Replica replica crashed" in failed and str(tmp_path / "logs" / "up.log") in failed
    assert "\x1b" not in failed  # colour codes of Ray's task errors stripped
    assert lines[-1] == "Chainsight is running."  # stdout is the terminal again for the final block
    assert "noise" not in result.stdout + result.stderr and "late ray warning" not in result.stderr
    log = (tmp_path / "logs" / "up.log").read_text()
    for text in ("python noise", "native noise", "late ray warning", "replica crashed"):
        assert text in log
    assert "Traceback" in log  # the failure's traceback is kept for whoever reads the log


def test_each_step_line_states_its_elapsed_seconds(tmp_path: Path) -> None:
    result = start(tmp_path / "logs", "quiet")
    (database,) = [line for line in result.stdout.splitlines() if "database" in line]
    number, unit = database.split()[2:4]
    assert unit == "s" and float(number) >= 0


def test_verbose_start_streams_component_output_and_writes_no_log(tmp_path: Path) -> None:
    result = start(tmp_path / "logs", "verbose")
    assert "python noise" in result.stdout and "native noise" in result.stderr
    assert "✓ database" in result.stdout
    assert not (tmp_path / "logs").exists()


def test_up_offers_verbose_for_the_full_stream() -> None:
    result = CliRunner().invoke(app, ["up", "--help"])
    assert result.exit_code == 0
    assert "--verbose" in result.output
