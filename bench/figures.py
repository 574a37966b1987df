"""What the bench scripts count, kept apart from their set-up so it can be tested: only successes make a rate,
a step that was not held makes no headline, a dead letter is no synced record, a killed replica is replaced only
once a new one runs."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any

_UNITS_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


@dataclass(frozen=True)
class WrkRun:
    ok_per_s: float  # successful (2xx/3xx) responses per second; wrk's own Requests/sec counts errors too
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx/3xx responses and socket errors (timeouts among them)
    total: int  # responses wrk received, errors included

    @property
    def valid(self) -> bool:
        """wrk's latency figures include error responses and leave timeouts out: they stand only without errors."""
        return self.errors == 0


def parse_wrk(output: str) -> WrkRun:
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b", output)
    if done is None:
        raise ValueError(f"no request count in wrk's output: {output[-400:]!r}")
    total, seconds = int(done.group(1)), float(done.group(2)) * _UNITS_S[done.group(3)]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    failed = int(non_2xx.group(1)) if non_2xx else 0
    errors = failed + (sum(int(g) for g in socket.groups()) if socket else 0)
    return WrkRun((total - failed) / seconds, _percentile(output, "50%"), _percentile(output, "99%"), errors, total)


def _percentile(output: str, label: str) -> float:
    match = re.search(rf"{re.escape(label)}\s+([\d.]+)(us|ms|s)\b", output)
    return float(match.group(1)) * _UNITS_S[match.group(2)] * 1000 if match else float("nan")


def highest_rate_held(held_by_rate: list[tuple[float, bool]]) -> float | None:
    """The highest step rate held before the first that was not; None when the first was not held."""
    best = None
    for rate, held in held_by_rate:
        if not held:
            break
        best = rate
    return best


def sync_figures(run: dict[str, Any]) -> dict[str, int]:
    """A sync run's records that synced (created, updated or unchanged) and those dead-lettered."""
    counts = run["counts"].values()
    synced = sum(c["created"] + c["updated"] + c["unchanged"] for c in counts)
    return {"synced": synced, "dead_lettered": sum(c["dead_lettered"] for c in counts)}


async def replica_replaced_after(
    names: Callable[[], Awaitable[Collection[str]]],
    running: Callable[[], Awaitable[int]],
    before: Collection[str],
    replicas: int,
    since: float,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[object]],
    limit_s: float,
    poll_s: float = 0.25,
) -> float | None:
    """Seconds from ``since`` (the kill, a ``clock`` instant) until a replica named outside ``before`` (the
    deployment's replica names at the kill) exists and ``running()`` is back to ``replicas``; None when that has
    not happened ``limit_s`` after the kill.

    The new name is what tells a replacement apart: Serve's controller learns of a killed replica only at its
    next health check (every 10 s), and until then still counts it RUNNING, so the count alone reads "replaced"
    the moment after the kill."""
    while clock() - since <= limit_s:
        if set(await names()) - set(before) and await running() >= replicas:
            return clock() - since
        await sleep(poll_s)
    return None
