"""scripts/cpu_by_process.py: what it calls each kind of process, and that it credits a child's CPU to it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "cpu_by_process.py"
sys.path.insert(0, str(SCRIPT.parent))
from cpu_by_process import Sampler, kind_of  # noqa: E402  (scripts/ is not a package)


@pytest.mark.parametrize(
    ("comm", "cmdline", "kind"),
    [
        ("ray::ServeRepli", "ray::ServeReplica:chainsight:InventoryAPI", "ray::ServeReplica:chainsight:InventoryAPI"),
        ("ray::TrainContr", "ray::TrainController.run", "ray::TrainController"),
        ("ray::IDLE", "", "ray::IDLE"),
        ("postgres", "postgres: postgres postgres [local] idle", "postgres"),
        ("pytest", "/x/.venv/bin/python .venv/bin/pytest -m ray", "pytest"),
        ("gcs_server", "/x/ray/core/src/ray/gcs/gcs_server --log_dir=/tmp/ray", "ray gcs_server"),
        ("VLLM::Worker", "", "VLLM::Worker"),
        ("python", "/x/.venv/bin/python bench/load.py --sustain-s 60", "python load.py"),
    ],
    ids=["serve-replica", "ray-actor-method", "idle-worker", "postgres", "pytest", "ray-daemon", "vllm", "python"],
)
def test_processes_are_grouped_by_what_they_are(comm, cmdline, kind):
    assert kind_of(comm, cmdline) == kind


def test_the_cpu_a_command_spends_is_credited_to_its_kind():
    busy = "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end: pass"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--interval", "0.1", "--", sys.executable, "-c", busy],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["exit"] == 0
    assert summary["by_kind"]["python -c"] >= 0.5


def test_a_process_that_has_exited_but_is_not_reaped_keeps_the_kind_it_ran_as():
    busy = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass"
    child = subprocess.Popen([sys.executable, "-c", busy])
    sampler = Sampler(0.1)
    sampler.sample(before_command=True)
    while b"\0-c\0" not in Path(f"/proc/{child.pid}/cmdline").read_bytes():  # exec has not happened yet
        time.sleep(0.001)
    sampler.sample()
    deadline = time.monotonic() + 30
    while Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline, "the child never finished"
        time.sleep(0.01)
    sampler.sample()  # a zombie: its command line reads empty
    child.wait()
    (kind,) = {seen.kind for (pid, _), seen in sampler.seen.items() if pid == str(child.pid)}
    assert kind == "python -c"
