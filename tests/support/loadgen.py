"""An open-loop load generator for the Chainsight API, with fault injection and write verification.

Requests start on a fixed schedule (``rate`` per second) whatever the server's latency, so a slow
server builds a queue instead of quietly lowering the load (no coordinated omission). Writes carry an
Idempotency-Key and are retried with the same key on 503s and dropped connections, the way a careful
client would; afterwards every acknowledged write is looked up in the ledger, so a lost or duplicated
committed write is caught. Used by ``bench/load.py`` and by the fault tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
import asyncpg
import httpx
import numpy as np

RETRYABLE_STATUS = {502, 503, 504}


class Answer(Protocol):
    status_code: int


class HttpClient(Protocol):
    """What the generator needs of a client: ``httpx.AsyncClient`` or ``AiohttpClient``."""

    async def request(self, method: str, url: str, *, json: Any = None, headers: Any = None) -> Any: ...

    async def get(self, url: str, *, headers: Any = None) -> Any: ...


@dataclass(frozen=True)
class _Answer:
    status_code: int


class AiohttpClient:
    """The generator's client for high rates. httpx's connection pool rescans its connections for each
    connection on every request it adds or removes (quadratic: 0.005 ms per change with 8 connections,
    4.7 ms with 256, measured on the 2-core machine), so once a latency spike had opened many connections
    the generator itself could no longer send 200 req/s and its backlog never drained. aiohttp's pool does
    not. Transport failures are raised as ``httpx.TransportError``, as the generator expects."""

    def __init__(self, base_url: str, *, max_connections: int = 256, timeout_s: float = 30.0) -> None:
        self._base = base_url.rstrip("/")
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max_connections), timeout=aiohttp.ClientTimeout(total=timeout_s)
        )

    async def request(self, method: str, url: str, *, json: Any = None, headers: Any = None) -> _Answer:
        try:
            async with self._session.request(method, self._base + url, json=json, headers=headers) as response:
                await response.read()
                return _Answer(response.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise httpx.TransportError(f"{type(exc).__name__}: {exc}") from exc

    async def get(self, url: str, *, headers: Any = None) -> _Answer:
        return await self.request("GET", url, headers=headers)

    async def __aenter__(self) -> AiohttpClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._session.close()


@dataclass(frozen=True)
class Target:
    """The tenant data the generated requests touch."""

    headers: dict[str, str]
    product_ids: Sequence[str]
    warehouse_ids: Sequence[str]


@dataclass
class Sample:
    operation: str
    kind: str  # "read" or "write"
    started: float
    latency_s: float
    status: int  # 0 when no HTTP response came back at all
    attempts: int = 1
    late_s: float = 0.0  # how long after its scheduled start the generator sent it (its own backlog)


@dataclass
class LoadReport:
    rate: float
    duration_s: float
    samples: list[Sample]
    acknowledged_writes: list[str] = field(default_factory=list)  # references of writes answered 201
    longest_gc_pause_ms: float = 0.0  # the generator's own longest garbage collection during the run

    def by(self, *, operation: str | None = None, kind: str | None = None) -> list[Sample]:
        return [
            s
            for s in self.samples
            if (operation is None or s.operation == operation) and (kind is None or s.kind == kind)
        ]

    def errors(self, since: float | None = None) -> int:
        return sum(1 for s in self.samples if not _ok(s) and (since is None or s.started >= since))

    def percentile_ms(self, q: float, *, kind: str | None = None, operation: str | None = None) -> float:
        latencies = [s.latency_s for s in self.by(kind=kind, operation=operation) if _ok(s)]
        return float(np.percentile(latencies, q) * 1000) if latencies else float("nan")

    def windows(self, width_s: float = 10.0) -> list[dict[str, float]]:
        """Per ``width_s`` of scheduled time: requests, errors, read p99 and the generator's own lateness p99
        (a late generator means the client, not the server, is the bottleneck)."""
        out = []
        for begin in np.arange(0.0, self.duration_s, width_s):
            window = [s for s in self.samples if begin <= s.started < begin + width_s]
            if not window:
                continue
            reads = [s.latency_s for s in window if s.kind == "read" and _ok(s)]
            out.append(
                {
                    "from_s": float(begin),
                    "requests": len(window),
                    "errors": sum(1 for s in window if not _ok(s)),
                    "read_p99_ms": round(float(np.percentile(reads, 99) * 1000), 1) if reads else float("nan"),
                    "generator_late_p99_ms": round(float(np.percentile([s.late_s for s in window], 99) * 1000), 1),
                }
            )
        return out

    def achieved_rate(self) -> float:
        return len(self.samples) / self.duration_s if self.duration_s else 0.0

    def summary(self) -> dict[str, object]:
        operations = sorted({s.operation for s in self.samples})
        return {
            "rate": self.rate,
            "requests": len(self.samples),
            "errors": self.errors(),
            "read_p50_ms": round(self.percentile_ms(50, kind="read"), 1),
            "read_p99_ms": round(self.percentile_ms(99, kind="read"), 1),
            "write_p50_ms": round(self.percentile_ms(50, kind="write"), 1),
            "write_p99_ms": round(self.percentile_ms(99, kind="write"), 1),
            "by_operation": {
                op: {
                    "requests": len(self.by(operation=op)),
                    "errors": sum(1 for s in self.by(operation=op) if not _ok(s)),
                    "p99_ms": round(self.percentile_ms(99, operation=op), 1),
                }
                for op in operations
            },
        }


def _ok(sample: Sample) -> bool:
    return 200 <= sample.status < 300


Request = tuple[str, str, dict | None]  # method, path, json body
RequestFactory = Callable[[Target, random.Random, str], Request]


def read_stock_level(target: Target, rng: random.Random, _: str) -> Request:
    return ("GET", f"/api/v1/stock-levels/{rng.choice(target.product_ids)}/{rng.choice(target.warehouse_ids)}", None)


def list_products(target: Target, rng: random.Random, _: str) -> Request:
    return ("GET", "/api/v1/products?limit=20", None)


def list_movements(target: Target, rng: random.Random, _: str) -> Request:
    return ("GET", f"/api/v1/stock-movements?limit=20&product_id={rng.choice(target.product_ids)}", None)


def post_receipt(target: Target, rng: random.Random, reference: str) -> Request:
    body = {
        "type": "receipt",
        "product_id": rng.choice(target.product_ids),
        "warehouse_id": rng.choice(target.warehouse_ids),
        "quantity": rng.randint(1, 5),
        "reference": reference,
    }
    return ("POST", "/api/v1/stock-movements", body)


@dataclass(frozen=True)
class Operation:
    name: str
    kind: str
    weight: float
    make: RequestFactory


INVENTORY_MIX = (
    Operation("stock_level", "read", 0.45, read_stock_level),
    Operation("list_products", "read", 0.15, list_products),
    Operation("list_movements", "read", 0.15, list_movements),
    Operation("receipt", "write", 0.25, post_receipt),
)


async def run_load(
    client: HttpClient,
    target: Target,
    *,
    rate: float,
    duration_s: float,
    mix: Sequence[Operation] = INVENTORY_MIX,
    run_id: str | None = None,
    seed: int = 7,
    write_retries: int = 8,
    faults: Sequence[tuple[float, Callable[[], Awaitable[None]]]] = (),
) -> LoadReport:
    """Send ``rate`` requests per second for ``duration_s`` seconds; ``faults`` run at their offsets."""
    rng = random.Random(seed)
    run = run_id or uuid.uuid4().hex[:12]
    weights = [op.weight for op in mix]
    report = LoadReport(rate=rate, duration_s=duration_s, samples=[])
    counter = itertools.count()
    tasks: list[asyncio.Task] = []
    start = time.perf_counter()

    async def one(operation: Operation, index: int, due: float) -> None:
        reference = f"load-{run}-{index}"
        method, path, body = operation.make(target, rng, reference)
        headers = dict(target.headers)
        if operation.kind == "write":
            headers["Idempotency-Key"] = reference
        began = time.perf_counter()
        attempts, status = 0, 0
        while True:
            attempts += 1
            try:
                response = await client.request(method, path, json=body, headers=headers)
                status = response.status_code
            except httpx.TransportError:
                status = 0
            retry = operation.kind == "write" and (status == 0 or status in RETRYABLE_STATUS)
            if not retry or attempts > write_retries:
                break
            await asyncio.sleep(min(0.1 * 2**attempts, 2.0))
        report.samples.append(
            Sample(
                operation.name,
                operation.kind,
                began - start,
                time.perf_counter() - began,
                status,
                attempts,
                late_s=began - due,
            )
        )
        if operation.kind == "write" and status == 201:
            report.acknowledged_writes.append(reference)

    async def inject(offset: float, fault: Callable[[], Awaitable[None]]) -> None:
        await asyncio.sleep(offset)
        await fault()

    fault_tasks = [asyncio.create_task(inject(offset, fault)) for offset, fault in faults]
    total = int(rate * duration_s)
    with _generator_gc_timed(report):
        for index in range(total):
            due = start + index / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            operation = rng.choices(mix, weights)[0]
            tasks.append(asyncio.create_task(one(operation, next(counter), due)))
        await asyncio.gather(*tasks, *fault_tasks)
    report.duration_s = max(duration_s, time.perf_counter() - start)
    return report


@contextlib.contextmanager
def _generator_gc_timed(report: LoadReport) -> Iterator[None]:
    """Record the generator's longest garbage collection during the run.

    A full collection pauses the generator's event loop and would read as server latency (bench/load.py runs the
    generator in a process of its own, bench/load_generator.py; the fault test runs it beside its Ray driver).
    Measured 2026-12-07 beside a sustained run whose first window had the generator 166 ms late: its longest
    collection was 2.8 ms, so collections are not what stalls it; the figure stays in the bench's output to keep
    telling."""

    def timed(phase: str, info: dict[str, int]) -> None:
        nonlocal began
        if phase == "start":
            began = time.perf_counter()
        elif began is not None:
            report.longest_gc_pause_ms = max(report.longest_gc_pause_ms, (time.perf_counter() - began) * 1000)

    began: float | None = None
    gc.callbacks.append(timed)
    try:
        yield
    finally:
        gc.callbacks.remove(timed)


async def verify_writes(database_url: str, report: LoadReport) -> tuple[int, int]:
    """(missing, duplicated): acknowledged writes absent from the ledger, and references written twice."""
    if not report.acknowledged_writes:
        return 0, 0
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT reference, count(*) AS n FROM app.stock_movements WHERE reference = ANY($1::text[]) "
            "GROUP BY reference",
            report.acknowledged_writes,
        )
    finally:
        await conn.close()
    found = {row["reference"]: row["n"] for row in rows}
    missing = sum(1 for ref in report.acknowledged_writes if ref not in found)
    duplicated = sum(1 for n in found.values() if n > 1)
    return missing, duplicated


async def time_to_recover(client: HttpClient, target: Target, since: float, timeout_s: float = 120) -> float:
    """Seconds from ``since`` (a perf_counter instant) until a stock read succeeds again."""
    path = read_stock_level(target, random.Random(0), "")[1]
    deadline = since + timeout_s
    while time.perf_counter() < deadline:
        try:
            if (await client.get(path, headers=target.headers)).status_code == 200:
                return time.perf_counter() - since
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise TimeoutError(f"no successful read within {timeout_s}s")
