"""Inventory API throughput: Ray Serve against the same FastAPI app under plain uvicorn, one run.

Measures requests/s, p50 and p99 for a database-backed read (the stock level of one product) and a
write (a receipt on the stock ledger), first under plain uvicorn (1 worker), then through Serve
(the shipped configuration: HAProxy high-throughput mode), then through Serve with its default proxy,
against the same PostgreSQL. Load comes from wrk (Debian package `wrk`)
on loopback, bounded in time. Before that, the app runs once behind a protocol-reading proxy
(tests/support/pg_roundtrips.py) that counts the database round trips of each request shape, one request at a time.
Prints the round trips, a table, then one JSON line with the headline figures.

    python bench/api_throughput.py [--database-url URL | --data-dir DIR] [--duration 15] [--connections 32]
        [--replicas 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import ray
from ray import serve

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.copilot_bench_support import database_options, prepare_database  # noqa: E402
from bench.figures import parse_wrk  # noqa: E402
from common.config import Settings  # noqa: E402
from common.dev_tokens import issue_hs256_token  # noqa: E402
from deployments.app_builder import AppArgs  # noqa: E402
from deployments.local_stack import seed, start_ray, start_serve  # noqa: E402
from inventory.demo import DEMO_PLANNER_ID, DEMO_TENANT_ID, demo_id  # noqa: E402
from tests.support.pg_roundtrips import RoundTripCounter  # noqa: E402
from tests.support.ports import free_port  # noqa: E402

BENCH_SECRET = "bench-secret-for-chainsight-throughput-0123456789"
PRODUCT = demo_id("product:FST-M6-20")
WAREHOUSE = demo_id("warehouse:BER-01")

UVICORN_APP = """
from common.config import get_settings
from deployments.api.app import create_api
app = create_api(get_settings())
"""

RECEIPT = '{"type":"receipt","product_id":"%s","warehouse_id":"%s","quantity":1,"reference":"bench"}'
WRK_POST = """
wrk.method = "POST"
wrk.body = '%s'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
"""


@dataclass
class Result:
    server: str
    endpoint: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int


def wait_ready(url: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not become ready in {timeout_s}s")


def run_wrk(
    url: str, token: str, args: argparse.Namespace, script: Path | None
) -> tuple[float, float, float, int, int]:
    command = [
        "wrk",
        "-t1",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--timeout",
        "5s",
        "--latency",
        "-H",
        f"Authorization: Bearer {token}",
    ]
    if script is not None:
        command += ["-s", str(script)]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    run = parse_wrk(output)
    return run.ok_per_s, run.p50_ms, run.p99_ms, run.errors, run.total


def start_uvicorn(app_dir: Path, database_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": f"{app_dir}:{REPO}", "DATABASE_URL": database_url}
    command = [sys.executable, "-m", "uvicorn", "bench_uvicorn_app:app", "--port", str(port)]
    server = subprocess.Popen([*command, "--log-level", "warning", "--no-access-log"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{base}/readyz")
    except BaseException:
        server.terminate()
        raise
    return server, base


def count_round_trips(app_dir: Path, database_url: str, token: str, requests: int) -> dict[str, float]:
    """Database round trips per request of each shape, counted on the wire, one request at a time."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    counter = asyncio.run_coroutine_threadsafe(RoundTripCounter(database_url).start(), loop).result()
    server, base = start_uvicorn(app_dir, counter.dsn)
    headers = {"Authorization": f"Bearer {token}"}
    shapes = {
        "read": lambda client: client.get(f"/api/v1/stock-levels/{PRODUCT}/{WAREHOUSE}"),
        "write": lambda client: client.post(
            "/api/v1/stock-movements",
            content=RECEIPT % (PRODUCT, WAREHOUSE),
            headers={"Content-Type": "application/json"},
        ),
    }
    found: dict[str, float] = {}
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
            for shape, send in shapes.items():
                # Every pooled connection prepares its statements once: warm them all up first.
                for _ in range(20):
                    send(client).raise_for_status()
                before = counter.total
                for _ in range(requests):
                    send(client).raise_for_status()
                found[shape] = (counter.total - before) / requests
    finally:
        server.terminate()
        server.wait(timeout=30)
        asyncio.run_coroutine_threadsafe(counter.close(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
    return found


def measure(server: str, base: str, token: str, args: argparse.Namespace, post_script: Path) -> list[Result]:
    read_url = f"{base}/api/v1/stock-levels/{PRODUCT}/{WAREHOUSE}"
    results = []
    for endpoint, url, script in (
        ("read: stock level", read_url, None),
        ("write: receipt", f"{base}/api/v1/stock-movements", post_script),
    ):
        # A short warm-up so connection pools and JIT-ish caches are filled before measuring.
        subprocess.run(
            [
                "wrk",
                "-t1",
                "-c4",
                "-d2s",
                "-H",
                f"Authorization: Bearer {token}",
                *(["-s", str(script)] if script else []),
                url,
            ],
            capture_output=True,
            check=True,
        )
        rps, p50, p99, errors, total = run_wrk(url, token, args, script)
        results.append(Result(server, endpoint, rps, p50, p99, errors, total))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    database_options(parser)
    parser.add_argument("--duration", type=int, default=15, help="seconds of load per measurement")
    parser.add_argument("--connections", type=int, default=32, help="connections wrk keeps open (its -c)")
    parser.add_argument("--replicas", type=int, default=1, help="InventoryAPI replicas under Serve (fixed)")
    parser.add_argument(
        "--no-compare-proxies",
        dest="compare_proxies",
        action="store_false",
        help="skip the extra measurement with Serve's default proxy",
    )
    parser.add_argument(
        "--round-trip-requests", type=int, default=50, help="requests of each shape whose round trips are counted"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is required: apt-get install wrk")

    os.environ.update({"ENVIRONMENT": "development", "SUPABASE_JWT_SECRET": BENCH_SECRET})
    url = prepare_database(args)
    seed(url, days=120)
    token = issue_hs256_token(BENCH_SECRET, DEMO_PLANNER_ID, tenant_id=DEMO_TENANT_ID, expires_in_s=3600)
    post_script = Path(tempfile.mkstemp(suffix=".lua")[1])
    post_script.write_text(WRK_POST % (RECEIPT % (PRODUCT, WAREHOUSE), token))

    app_dir = Path(tempfile.mkdtemp())
    (app_dir / "bench_uvicorn_app.py").write_text(UVICORN_APP)
    round_trips = count_round_trips(app_dir, url, token, args.round_trip_requests)
    print("database round trips per request: " + ", ".join(f"{k} {v:g}" for k, v in round_trips.items()))

    # Plain uvicorn first, before Ray starts, so Ray's background processes cannot slow it down.
    uvicorn, base = start_uvicorn(app_dir, url)
    try:
        results = measure("uvicorn (1 worker)", base, token, args, post_script)
    finally:
        uvicorn.terminate()
        uvicorn.wait(timeout=30)

    # Serve in the shipped configuration (HAProxy high-throughput proxy), then, for comparison, with
    # Serve's default proxy. The proxy mode is read when Ray starts, so each gets its own cluster.
    for high_throughput in (True, False) if args.compare_proxies else (True,):
        os.environ["HTTP_PORT"] = str(free_port())
        os.environ["SERVE_HIGH_THROUGHPUT"] = str(high_throughput).lower()
        for name in ("RAY_SERVE_ENABLE_HA_PROXY", "RAY_SERVE_THROUGHPUT_OPTIMIZED"):
            os.environ.pop(name, None)
        served = Settings(_env_file=None)  # type: ignore[call-arg]
        start_ray(served, include_dashboard=False)
        try:
            start_serve(served, AppArgs(min_replicas=args.replicas, max_replicas=args.replicas))
            base = f"http://{served.http_host}:{served.http_port}"
            wait_ready(f"{base}/readyz")
            mode = "HAProxy high-throughput" if high_throughput else "default proxy"
            results += measure(f"Ray Serve ({mode})", base, token, args, post_script)
        finally:
            serve.shutdown()
            ray.shutdown()

    print(f"\n{'server':34} {'endpoint':20} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for r in results:
        print(f"{r.server:34} {r.endpoint:20} {r.requests_per_s:9.0f} {r.p50_ms:8.1f} {r.p99_ms:8.1f} {r.errors:7d}")
    plain_read, plain_write, serve_read, serve_write = results[:4]
    headline = {
        "bench": "api_throughput",
        "connections": args.connections,
        "replicas": args.replicas,
        "duration_s": args.duration,
        "read_round_trips": round_trips["read"],
        "write_round_trips": round_trips["write"],
        "serve_read_rps": round(serve_read.requests_per_s, 1),
        "uvicorn_read_rps": round(plain_read.requests_per_s, 1),
        "read_ratio": round(serve_read.requests_per_s / plain_read.requests_per_s, 3),
        "serve_write_rps": round(serve_write.requests_per_s, 1),
        "uvicorn_write_rps": round(plain_write.requests_per_s, 1),
        "write_ratio": round(serve_write.requests_per_s / plain_write.requests_per_s, 3),
        "serve_read_p99_ms": round(serve_read.p99_ms, 1),
        "uvicorn_read_p99_ms": round(plain_read.p99_ms, 1),
        "serve_default_proxy_read_rps": round(results[4].requests_per_s, 1) if len(results) > 4 else None,
        "errors": sum(r.errors for r in results),
        # Rates count successful responses only; wrk's latencies include error responses and leave timeouts out.
        "valid": all(r.errors == 0 for r in results),
        "results": [asdict(r) for r in results],
    }
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
