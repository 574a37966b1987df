"""bench/figures.py: what the bench scripts count as throughput and as held."""

from __future__ import annotations

import asyncio
import math

from bench.figures import highest_rate_held, parse_wrk, replica_replaced_after, sync_figures

# wrk 4.1 against a server answering 503 to everything (captured 2026-12-07).
ALL_FAILED = """Running 1s test @ http://127.0.0.1:18777/bad
  1 threads and 2 connections
  Latency Distribution
     50%  629.00us
     99%    1.28ms
  2807 requests in 1.00s, 356.36KB read
  Non-2xx or 3xx responses: 2807
Requests/sec:   2805.55
"""


def test_error_responses_are_no_throughput_and_make_the_latencies_invalid():
    # Before, the bench reported wrk's 2,805 req/s and a clean p99 for a run in which every request failed.
    run = parse_wrk(ALL_FAILED)
    assert (run.ok_per_s, run.errors, run.total, run.valid) == (0.0, 2807, 2807, False)
    assert math.isclose(run.p99_ms, 1.28)


def test_a_clean_run_counts_every_response_and_converts_microseconds():
    clean = ALL_FAILED.replace("  Non-2xx or 3xx responses: 2807\n", "").replace(
        "2807 requests in 1.00s", "300 requests in 1.50s"
    )
    run = parse_wrk(clean)
    assert (run.ok_per_s, run.errors, run.valid) == (200.0, 0, True)
    assert math.isclose(run.p50_ms, 0.629)


def test_no_rate_is_held_when_the_first_step_was_not():
    # Before, the load bench reported its first rate as held when no step held.
    assert highest_rate_held([(100.0, False)]) is None
    assert highest_rate_held([(100.0, True), (200.0, False), (300.0, True)]) == 100.0


def test_dead_letters_are_no_synced_records():
    run = {"counts": {"products": {"created": 3, "updated": 1, "unchanged": 2, "dead_lettered": 5}}}
    assert sync_figures(run) == {"synced": 6, "dead_lettered": 5}


class ServeAfterKill:
    """A fake Serve after replica ``a`` of two is killed at 0 s: the named actor goes at once, the controller
    counts it RUNNING until its health check at ``noticed_s``, then starts ``c``, RUNNING from ``started_s``."""

    def __init__(self, noticed_s: float | None, started_s: float | None):
        self.now, self.noticed_s, self.started_s = 0.0, noticed_s, started_s

    async def sleep(self, seconds: float) -> None:
        self.now += seconds

    def _noticed(self) -> bool:
        return self.noticed_s is not None and self.now >= self.noticed_s

    async def names(self) -> list[str]:
        return ["b", "c"] if self._noticed() else ["b"]

    async def running(self) -> int:
        started = self.started_s is not None and self.now >= self.started_s
        return 1 if self._noticed() and not started else 2

    def replaced_after(self) -> float | None:
        return asyncio.run(
            replica_replaced_after(self.names, self.running, ["a", "b"], 2, 0.0, lambda: self.now, self.sleep, 180)
        )


def test_a_killed_replica_is_replaced_when_a_new_one_runs_not_while_serve_still_counts_the_dead_one():
    # Before, the bench polled the RUNNING count alone, still 2 until the health check, and reported 0.5 s.
    assert math.isclose(ServeAfterKill(noticed_s=10.0, started_s=60.0).replaced_after(), 60.0)


def test_a_replica_not_replaced_within_the_limit_has_no_replacement_time():
    assert ServeAfterKill(noticed_s=None, started_s=None).replaced_after() is None
