"""Send each known attack at a running Chainsight app and check that every one is refused cleanly.

    python bench/abuse.py --url http://127.0.0.1:8000 --database-url postgresql://... [--jwt-secret S]

Anonymous attacks need only the URL. Member attacks need a tenant: with ``--database-url`` (the owner's
connection, as the tests use) the script creates a throwaway tenant with a planner and a viewer and signs
their tokens with ``--jwt-secret`` (HS256, the development secret by default). Prints one line per attack
(expected and actual outcome) and ends with one JSON line: attacks, refused as expected, 5xx count, and
the InventoryAPI replicas' resident memory growth (measured only when the replicas run on this machine).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

# Run as a script (`python bench/abuse.py`), the repository root is not on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.config import DEVELOPMENT_JWT_SECRET
from common.dev_tokens import issue_hs256_token
from inventory.carrier_signatures import sign
from tests.support.abuse_client import docx_bomb, raw_request, repeated, replica_rss_bytes
from tests.support.bulk_rows import add_bulk_receipts

MIB = 1024 * 1024
RSS_BOUND_MB = 48
FORMULA_NAME = '=HYPERLINK("http://attacker.example","click")'


class Tenant:
    def __init__(self, secret: str) -> None:
        self.id, self.planner, self.viewer, self.admin = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        self.product, self.warehouse = uuid.uuid4(), uuid.uuid4()
        self.secret = secret

    def headers(self, user: uuid.UUID | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_hs256_token(self.secret, user or self.planner)}"}

    async def create(self, conn: asyncpg.Connection, rows: int) -> None:
        slug = f"abuse-{self.id.hex[:12]}"
        async with conn.transaction():
            await conn.execute("INSERT INTO app.tenants (id, name, slug) VALUES ($1, $2, $2)", self.id, slug)
            await conn.executemany(
                "INSERT INTO app.members (tenant_id, user_id, role) VALUES ($1, $2, $3)",
                [(self.id, self.planner, "planner"), (self.id, self.viewer, "viewer"), (self.id, self.admin, "admin")],
            )
            await conn.execute(
                "INSERT INTO app.warehouses (id, tenant_id, code, name) VALUES ($1, $2, 'WH', 'WH')",
                self.warehouse,
                self.id,
            )
            await conn.execute(
                "INSERT INTO app.products (id, tenant_id, sku, name) VALUES ($1, $2, 'SKU', $3)",
                self.product,
                self.id,
                FORMULA_NAME,
            )
            await add_bulk_receipts(conn, self.id, self.warehouse, rows)


Outcome = tuple[bool, str]  # refused as expected, what happened
WEBHOOK = "/api/v1/webhooks/carrier-events"


def signed_event(key_id: str, secret: str, tracking: str, event_id: str) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(
        {"carrier": "UPS", "tracking_number": tracking, "type": "in_transit", "event_id": event_id}
    ).encode()
    stamp = str(int(time.time()))
    return raw, {
        "Content-Type": "application/json",
        "X-Chainsight-Key-Id": key_id,
        "X-Chainsight-Timestamp": stamp,
        "X-Chainsight-Signature": sign(secret, stamp, raw),
    }


Attack = Callable[[], Awaitable[Outcome]]


def attacks(url: str, http: httpx.AsyncClient, tenant: Tenant | None, other: Tenant | None) -> dict[str, Attack]:
    json_headers = {"Content-Type": "application/json"}

    async def declared_64_mib() -> Outcome:
        r = await raw_request(
            url, "POST", "/api/v1/products", json_headers, repeated(MIB, 64 * MIB), content_length=64 * MIB
        )
        return r.status == 413, f"{r.status} after {r.sent_bytes} bytes sent"

    async def chunked_64_mib_x4() -> Outcome:
        sent = await asyncio.gather(*[
            raw_request(url, "POST", "/api/v1/purchase-orders", json_headers, repeated(64 * 1024, 64 * MIB),
                        content_length=None) for _ in range(4)
        ])  # fmt: skip
        return all(
            r.status == 413 for r in sent
        ), f"{[r.status for r in sent]}, max sent {max(r.sent_bytes for r in sent)}"

    async def anonymous_upload() -> Outcome:
        headers = {"Content-Type": "multipart/form-data; boundary=x"}
        r = await raw_request(
            url, "POST", "/api/v1/ai/copilot/documents", headers, repeated(MIB, 64 * MIB), content_length=64 * MIB
        )
        return r.status == 401, f"{r.status} after {r.sent_bytes} bytes sent"

    async def unknown_webhook_key() -> Outcome:
        raw, headers = signed_event(str(uuid.uuid4()), "cwk_guessed", "ATTACK-1", "a1")
        r = await http.post(WEBHOOK, content=raw, headers=headers)
        return r.status_code == 401, f"{r.status_code} {r.json().get('code')}"

    found: dict[str, Attack] = {
        "carrier webhook signed with a guessed key": unknown_webhook_key,
        "anonymous 64 MiB JSON body (Content-Length)": declared_64_mib,
        "4 anonymous 64 MiB chunked bodies at once": chunked_64_mib_x4,
        "anonymous 64 MiB upload": anonymous_upload,
    }
    if tenant is None or other is None:
        return found
    t = tenant

    async def docx_bomb_upload() -> Outcome:
        r = await http.post(
            "/api/v1/ai/copilot/documents", files={"file": ("bomb.docx", docx_bomb())}, headers=t.headers()
        )
        return r.status_code == 413, f"{r.status_code} {r.json().get('code')}"

    async def llm(body: dict[str, Any], status: int) -> Outcome:
        r = await http.post("/api/v1/ai/llm/chat/completions", json=body, headers=t.headers())
        return r.status_code == status, f"{r.status_code} {r.json().get('code')}"

    async def formula_csv() -> Outcome:
        r = await http.get("/api/v1/exports/products.csv", headers=t.headers(t.viewer))
        names = [row[2] for row in list(csv.reader(io.StringIO(r.text)))[1:] if not row[1].startswith("BULK-")]
        return r.status_code == 200 and names == ["'" + FORMULA_NAME], f"{r.status_code} names {names}"

    async def slow_exports() -> Outcome:
        async with httpx.AsyncClient(base_url=url, timeout=30.0) as slow:
            streams = [
                slow.stream("GET", "/api/v1/exports/stock-movements.csv", headers=t.headers(t.viewer))
                for _ in range(10)
            ]
            opened = [await s.__aenter__() for s in streams]
            started = time.perf_counter()
            others = await asyncio.gather(
                *[http.get("/api/v1/stock-levels", headers=other.headers()) for _ in range(20)]
            )
            others_s = time.perf_counter() - started
            for s in streams:
                await s.__aexit__(None, None, None)
        statuses = sorted(o.status_code for o in opened)
        fine = statuses.count(429) >= 8 and all(o.status_code == 200 for o in others)
        return (
            fine,
            f"exports {statuses}; 20 other-tenant reads in {others_s:.2f} s: {sorted({o.status_code for o in others})}",
        )

    async def viewer_refit() -> Outcome:
        params = {"product_id": str(t.product), "warehouse_id": str(t.warehouse), "refresh": "true"}
        r = await http.get("/api/v1/ai/forecast/demand", params=params, headers=t.headers(t.viewer))
        return r.status_code == 403, str(r.status_code)

    async def past_expiry() -> Outcome:
        body = {"product_id": str(t.product), "warehouse_id": str(t.warehouse), "quantity": 1,
                "expires_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat()}  # fmt: skip
        r = await http.post("/api/v1/reservations", json=body, headers=t.headers())
        return r.status_code == 422, str(r.status_code)

    async def foreign_uom() -> Outcome:
        r = await http.get(f"/api/v1/products/{other.product}/uom-conversions", headers=t.headers())
        return r.status_code == 404, str(r.status_code)

    async def webhook_replay() -> Outcome:
        key = (
            await http.post("/api/v1/carrier-webhook-keys", json={"name": "abuse"}, headers=t.headers(t.admin))
        ).json()
        shipment = {
            "direction": "inbound",
            "warehouse_id": str(t.warehouse),
            "carrier": "UPS",
            "tracking_number": "AB1",
        }
        shipment_id = (await http.post("/api/v1/shipments", json=shipment, headers=t.headers())).json()["id"]
        raw, headers = signed_event(key["id"], key["secret"], "AB1", "replayed-1")
        first = await http.post(WEBHOOK, content=raw, headers=headers)
        replay = await http.post(WEBHOOK, content=raw, headers=headers)
        timeline = (await http.get(f"/api/v1/shipments/{shipment_id}/events", headers=t.headers())).json()
        recorded = sum(e["source"] == "webhook" for e in timeline)
        fine = first.status_code == 200 and replay.status_code == 200 and not replay.json()["recorded"]
        return (
            fine and recorded == 1,
            f"{first.status_code}, replay {replay.status_code} {replay.text[:60]}; {recorded} recorded",
        )

    hello = [{"role": "user", "content": "hi"}]
    found |= {
        "captured carrier webhook replayed inside the skew window": webhook_replay,
        "DOCX that inflates to 200 MB": docx_bomb_upload,
        "OpenAI route with n=50": lambda: llm({"messages": hello, "n": 50}, 400),
        "OpenAI route with 100 stop strings": lambda: llm({"messages": hello, "stop": ["x"] * 100}, 400),
        "OpenAI route with a 100 k-character prompt": lambda: llm(
            {"messages": [{"role": "user", "content": "w " * 50_000}]}, 413
        ),
        "CSV export of a formula-named product": formula_csv,
        "10 slow exports by one viewer": slow_exports,
        "viewer forcing a forecast refit": viewer_refit,
        "reservation expiring in the past": past_expiry,
        "another tenant's uom-conversions": foreign_uom,
    }
    return found


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    tenant = other = None
    setup_started = time.perf_counter()
    if args.database_url:
        tenant, other = Tenant(args.jwt_secret), Tenant(args.jwt_secret)
        conn = await asyncpg.connect(args.database_url)
        try:
            await tenant.create(conn, args.export_rows)
            await other.create(conn, 10)
        finally:
            await conn.close()
    # Per replica process present at the start (other stacks on a shared machine may start replicas meanwhile).
    baseline = replica_rss_bytes()
    peak = dict(baseline)
    results: list[dict[str, Any]] = []
    print(f"setup {time.perf_counter() - setup_started:.1f} s", flush=True)
    async with httpx.AsyncClient(base_url=args.url, timeout=60.0) as http:
        for name, attack in attacks(args.url, http, tenant, other).items():
            started = time.perf_counter()
            try:
                refused, detail = await attack()
            except Exception as exc:  # a dropped connection is a finding, not a crash of the bench
                refused, detail = False, f"error {exc!r}"
            elapsed = time.perf_counter() - started
            for pid, rss in replica_rss_bytes().items():
                if pid in peak:
                    peak[pid] = max(peak[pid], rss)
            # The copilot or the LLM not being part of this application: nothing to attack there.
            unavailable = detail.startswith("503 service_unavailable")
            server_error = not unavailable and re.search(r"\b5\d\d\b", detail) is not None
            verdict = "UNAVAILABLE" if unavailable else "REFUSED" if refused else "NOT REFUSED"
            results.append({"attack": name, "verdict": verdict, "server_error": server_error, "detail": detail})
            rss_now = sum(replica_rss_bytes().values()) / MIB
            print(f"{verdict:12} {name}: {detail} ({elapsed:.1f} s; replicas {rss_now:.0f} MiB)", flush=True)
    growth_mb = max((peak[pid] - baseline[pid]) / MIB for pid in baseline) if baseline else None
    return {
        "attacks": len(results),
        "refused_as_expected": sum(r["verdict"] == "REFUSED" for r in results),
        "unavailable": sum(r["verdict"] == "UNAVAILABLE" for r in results),
        "server_errors": sum(r["server_error"] for r in results),
        "replica_rss_baseline_mb": round(max(baseline.values()) / MIB, 1) if baseline else None,
        "replica_rss_growth_mb": round(growth_mb, 1) if growth_mb is not None else None,
        "memory_bound_held": growth_mb is None or growth_mb < RSS_BOUND_MB,
        "replica_rss_mb": {str(pid): [round(baseline[pid] / MIB, 1), round(peak[pid] / MIB, 1)] for pid in baseline},
        "not_refused": [r["attack"] for r in results if r["verdict"] == "NOT REFUSED"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--database-url", help="owner connection, to create a throwaway tenant for member attacks")
    parser.add_argument("--jwt-secret", default=DEVELOPMENT_JWT_SECRET, help="HS256 secret the app verifies with")
    parser.add_argument("--export-rows", type=int, default=15_000, help="stock movements behind the slow exports")
    summary = asyncio.run(main_async(parser.parse_args()))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
