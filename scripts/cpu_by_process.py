"""Run a command and print where the machine's CPU time went while it ran, by kind of process.

    python scripts/cpu_by_process.py [--interval 0.5] [--top 25] -- make pytest

Samples every process's user + system time in ``/proc`` every ``--interval`` seconds (Linux only) and credits
each process with what it used after the command started: a process that existed before is counted from its
first sample, one that started later from zero. Processes are grouped by what they are (a Ray actor or task by
its ``ray::`` name, a Serve replica by its deployment, pytest, PostgreSQL, vLLM ...), so "where does the test
suite's CPU go" has an answer that ``time`` cannot give: Ray starts its workers outside the command's process
tree. A process that starts and ends between two samples is missed, so the totals are a lower bound; the
sampler's own CPU is listed. Exits with the command's status; ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass

TICKS_PER_S = os.sysconf("SC_CLK_TCK")
# Ray names its workers after what they run ("ray::ServeReplica:app:Deployment.handle", "ray::IDLE").
RAY_NAME = re.compile(r"^ray::([A-Za-z_][\w.]*(?::[\w.]+)*)")
HEX_SUFFIX = re.compile(r"[._]?[0-9a-f]{6,}$")
DAEMONS = ("gcs_server", "raylet", "log_monitor", "dashboard", "monitor.py", "runtime_env", "haproxy")


@dataclass
class Seen:
    first_s: float
    last_s: float
    kind: str


def _read(pid: str) -> tuple[tuple[str, int], float, str] | None:
    """(pid, start tick) as a key that survives pid reuse, CPU seconds so far, kind; None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat_file:
            stat = stat_file.read()
        with open(f"/proc/{pid}/cmdline", "rb") as cmd_file:
            cmdline = cmd_file.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return None
    close = stat.rfind(")")
    comm = stat[stat.find("(") + 1 : close]
    fields = stat[close + 2 :].split()
    cpu_s = (int(fields[11]) + int(fields[12])) / TICKS_PER_S  # utime + stime, not the children's
    return (pid, int(fields[19])), cpu_s, kind_of(comm, cmdline)


def kind_of(comm: str, cmdline: str) -> str:
    """A short name for what a process is, from its command name and line."""
    match = RAY_NAME.match(cmdline) or RAY_NAME.match(comm)
    if match:
        return "ray::" + HEX_SUFFIX.sub("", match.group(1).split(".")[0])
    if "pytest" in cmdline:
        return "pytest"
    for daemon in DAEMONS:
        if daemon in cmdline[:300]:
            return f"ray {daemon}" if daemon != "haproxy" else "haproxy"
    if comm.startswith("postgres") or "postgres" in cmdline[:40]:
        return "postgres"
    if comm.startswith("VLLM::"):
        return comm
    if "cpu_by_process" in cmdline:
        return "(this sampler)"
    program = cmdline.split(" ", 1)[0].rsplit("/", 1)[-1] if cmdline else f"[{comm}]"
    if program.startswith("python"):
        script = cmdline.split(" ")[1:2]
        return f"python {script[0].rsplit('/', 1)[-1]}" if script else "python"
    return program


class Sampler:
    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.seen: dict[tuple[str, int], Seen] = {}
        self._stop = threading.Event()

    def sample(self, *, before_command: bool = False) -> None:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            read = _read(pid)
            if read is None:
                continue
            key, cpu_s, kind = read
            if key in self.seen:
                self.seen[key].last_s = cpu_s
                # Ray renames a worker when it takes an actor; a process that has exited and waits to be reaped
                # (a zombie) has an empty command line ("[python]") and keeps the kind it ran as.
                if not kind.startswith("["):
                    self.seen[key].kind = kind
            else:
                # Existed before the command: count from now. Started since: count from zero.
                self.seen[key] = Seen(cpu_s if before_command else 0.0, cpu_s, kind)

    def run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()
        self.sample()

    def stop(self) -> None:
        self._stop.set()

    def by_kind(self) -> tuple[Counter[str], Counter[str]]:
        cpu: Counter[str] = Counter()
        count: Counter[str] = Counter()
        for seen in self.seen.values():
            used = seen.last_s - seen.first_s
            if used > 0:
                cpu[seen.kind] += used
                count[seen.kind] += 1
        return cpu, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between samples")
    parser.add_argument("--top", type=int, default=25, help="kinds of process to list")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    sampler = Sampler(args.interval)
    sampler.sample(before_command=True)
    thread = threading.Thread(target=sampler.run, daemon=True)
    thread.start()
    started = time.monotonic()
    status = subprocess.call(command)  # noqa: S603 (the caller's own command line)
    wall_s = time.monotonic() - started
    sampler.stop()
    thread.join()
    cpu, count = sampler.by_kind()
    total = sum(cpu.values())
    cores = os.cpu_count() or 1
    print(f"\n{' '.join(command)}: exit {status}, {wall_s:.1f} s wall, {total:.1f} CPU s on {cores} cores "
          f"({100 * total / (wall_s * cores):.0f}% of what the cores could give)", file=sys.stderr)  # fmt: skip
    print(f"{'CPU s':>8} {'share':>6} {'procs':>6}  kind", file=sys.stderr)
    for kind, used in cpu.most_common(args.top):
        print(f"{used:8.1f} {100 * used / total:5.1f}% {count[kind]:6d}  {kind}", file=sys.stderr)
    print(json.dumps({
        "command": command, "exit": status, "wall_s": round(wall_s, 1), "cpu_s": round(total, 1), "cores": cores,
        "by_kind": {kind: round(used, 1) for kind, used in cpu.most_common()},
    }))  # fmt: skip
    return status


if __name__ == "__main__":
    sys.exit(main())
