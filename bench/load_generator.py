"""The load generator of ``bench/load.py`` in a process of its own.

In the bench's process the generator shared its event loop with the database watcher and its process with the Ray
driver, so a pause of either delayed its timers and read as server latency (issue #19: one sustained run's p99 was
62/214 ms against 11/18 and 19/34 in the others, the generator late by up to 222 ms in the bad window). Here it runs
alone, with its own event loop and HTTP client: ``python -m bench.load_generator`` reads one JSON line of settings
(URL, headers, ids), then one JSON line per run (rate, duration, seed) and answers each with one JSON line: the
samples, the acknowledged writes, the longest garbage collection, and how late asyncio woke a 10 ms tick throughout
(the loop's own lag: a late tick is a generator stall, a slow answer with punctual ticks is the server's).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tests.support.loadgen import AiohttpClient, LoadReport, Sample, Target, run_load

REPO = Path(__file__).resolve().parents[1]
TICK_S = 0.010
# One answer line holds every sample (12,000 for 60 s at 200 req/s, about 1 MB); asyncio's default limit is 64 KiB.
_LINE_LIMIT = 256 * 1024 * 1024


@dataclass
class GeneratorRun:
    """One run of the generator: its report and the loop lag ticks, (offset from the run's start, lag) in seconds."""

    report: LoadReport
    ticks: list[tuple[float, float]]

    def loop_lag_ms(self, q: float, begin_s: float = 0.0, end_s: float = float("inf")) -> float:
        """The ``q``-th percentile of the loop's lag over ticks started in [begin_s, end_s) of the run."""
        lags = [lag for at, lag in self.ticks if begin_s <= at < end_s]
        return round(float(np.percentile(lags, q)) * 1000, 1) if lags else float("nan")


def encode_run(run: GeneratorRun) -> str:
    report = run.report
    return json.dumps(
        {
            "rate": report.rate,
            "duration_s": report.duration_s,
            "samples": [dataclasses.astuple(s) for s in report.samples],
            "acknowledged_writes": report.acknowledged_writes,
            "longest_gc_pause_ms": report.longest_gc_pause_ms,
            "ticks": run.ticks,
        }
    )


def decode_run(line: str | bytes) -> GeneratorRun:
    data = json.loads(line)
    report = LoadReport(
        rate=data["rate"],
        duration_s=data["duration_s"],
        samples=[Sample(*row) for row in data["samples"]],
        acknowledged_writes=data["acknowledged_writes"],
        longest_gc_pause_ms=data["longest_gc_pause_ms"],
    )
    return GeneratorRun(report, [(at, lag) for at, lag in data["ticks"]])


async def _tick(ticks: list[tuple[float, float]], start: float) -> None:
    while True:
        before = time.perf_counter()
        await asyncio.sleep(TICK_S)
        ticks.append((before - start, max(0.0, time.perf_counter() - before - TICK_S)))


async def _measured(client: AiohttpClient, target: Target, rate: float, duration_s: float, seed: int) -> GeneratorRun:
    ticks: list[tuple[float, float]] = []
    ticker = asyncio.create_task(_tick(ticks, time.perf_counter()))
    try:
        report = await run_load(client, target, rate=rate, duration_s=duration_s, seed=seed)
    finally:
        ticker.cancel()
    return GeneratorRun(report, ticks)


async def _serve(answers: Any) -> None:
    settings = json.loads(await asyncio.to_thread(sys.stdin.readline))
    target = Target(**settings["target"])
    async with AiohttpClient(
        settings["base_url"], max_connections=settings["max_connections"], timeout_s=settings["timeout_s"]
    ) as client:
        while line := await asyncio.to_thread(sys.stdin.readline):
            order = json.loads(line)
            run = await _measured(client, target, order["rate"], order["duration_s"], order["seed"])
            answers.write(encode_run(run) + "\n")
            answers.flush()


def main() -> None:
    # Answers go to the original stdout; anything else printed in this process goes to stderr, not into them.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    asyncio.run(_serve(answers))


class GeneratorProcess:
    """The bench's handle on the generator's process: ``await run(rate, duration_s, seed)`` per run, one at a time.
    Waiting for an answer does not hold the generator: the parent's pauses delay only when it reads the answer."""

    def __init__(self, base_url: str, target: Target, *, max_connections: int = 256, timeout_s: float = 30.0) -> None:
        self._settings = {
            "base_url": base_url,
            "target": dataclasses.asdict(target),
            "max_connections": max_connections,
            "timeout_s": timeout_s,
        }
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        return self._started().pid

    def _started(self) -> asyncio.subprocess.Process:
        if self._process is None:
            raise RuntimeError("the generator's process is not started: use `async with GeneratorProcess(...)`")
        return self._process

    async def _send(self, message: dict[str, Any]) -> None:
        stdin = self._started().stdin
        assert stdin is not None
        stdin.write((json.dumps(message) + "\n").encode())
        await stdin.drain()

    async def run(self, rate: float, duration_s: float, seed: int = 7) -> GeneratorRun:
        process = self._started()
        await self._send({"rate": rate, "duration_s": duration_s, "seed": seed})
        assert process.stdout is not None
        line = await process.stdout.readline()
        if not line:
            raise RuntimeError(f"the load generator's process ended (exit status {await process.wait()})")
        return decode_run(line)

    async def __aenter__(self) -> GeneratorProcess:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.load_generator",
            cwd=REPO,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=_LINE_LIMIT,
        )
        await self._send(self._settings)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        process = self._started()
        assert process.stdin is not None
        process.stdin.close()  # the child ends at the end of its input
        try:
            await asyncio.wait_for(process.wait(), timeout=10)
        except TimeoutError:
            process.kill()
            await process.wait()


if __name__ == "__main__":
    main()
