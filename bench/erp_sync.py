"""Initial ERP sync throughput: products and purchase orders from the fake Odoo, SAP Gateway and NetSuite.

    python bench/erp_sync.py [--database-url URL | --data-dir DIR] [--products 50000] [--orders 10000]
                             [--erps odoo,sap,netsuite]

The fake ERPs (tests/support/fakes) run in a child process, so the figures are the sync's alone:
records/s (products + suppliers + warehouses + purchase orders, each order with two lines) and the peak
resident memory of the syncing process. Everything shares the machine's cores with PostgreSQL. Ends with
one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.erp_sync_fakes import serve_fakes
from bench.figures import sync_figures
from common.config import Settings
from common.database import Database, TenantTransaction, create_pool
from common.migrate import apply_migrations
from integrations import store
from integrations.http import RetryPolicy
from integrations.schemas import ConnectorCreate
from integrations.sync import SyncDeps, run_sync


async def bench(
    url: str, fake_urls: dict[str, str], page_size: int, erps: list[str], private_pem: str
) -> dict[str, Any]:
    await apply_migrations(url)
    settings = Settings(environment="test", database_url=url, database_pool_max_size=4)
    pool = await create_pool(settings)
    tenant, admin = uuid.uuid4(), uuid.uuid4()
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO app.tenants (id, name, slug) VALUES ($1, 'Bench', $2)", tenant, f"bench-{tenant.hex[:10]}"
        )
        await conn.execute("INSERT INTO app.members (tenant_id, user_id, role) VALUES ($1, $2, 'admin')", tenant, admin)
        await conn.execute(
            "INSERT INTO app.warehouses (tenant_id, code, name) VALUES ($1, '1010', 'Plant 1010')", tenant
        )
    database = Database(pool)
    deps = SyncDeps.from_settings(settings, database)
    deps = SyncDeps(database, deps.cipher, RetryPolicy(timeout_s=120), page_size)
    claims = {"sub": str(admin), "role": "authenticated", "aud": "authenticated"}
    results: dict[str, Any] = {}
    for kind, fields in (
        (
            "odoo",
            {
                "options": {"database": "prod"},
                "credentials": {"username": "sync@example.com", "api_key": "odoo-key"},
                "mapping": {"units": {"Units": "each"}, "default_warehouse": "WH"},
                "entities": ["warehouses", "suppliers", "products", "purchase_orders"],
            },
        ),
        (
            "sap",
            {
                "credentials": {"username": "COMM_USER", "password": "sap-secret"},
                "mapping": {"units": {"PC": "each"}},
                "entities": ["suppliers", "products", "purchase_orders"],
            },
        ),
        (
            "netsuite",
            {
                "credentials": {"client_id": "ns-client", "certificate_id": "cert-1", "private_key": private_pem},
                "mapping": {"units": {"Each": "each"}},
                "entities": ["warehouses", "suppliers", "products", "purchase_orders"],
            },
        ),
    ):
        if kind not in erps:
            continue
        base_url = fake_urls[kind]
        data = ConnectorCreate.model_validate({"name": kind, "kind": kind, "base_url": base_url, **fields})

        async def create(tx: TenantTransaction, data: ConnectorCreate = data) -> dict:
            return await store.create_connector(tx, data, deps.cipher)

        connector = (await database.run(claims, tenant, create))["id"]
        started = time.perf_counter()
        run = await run_sync(deps, tenant, connector)
        elapsed = time.perf_counter() - started
        figures = sync_figures(run)
        records = figures["synced"]  # a dead letter is no synced record
        results[kind] = {
            "status": run["status"],
            "error": run["error"],
            "records": records,
            "dead_lettered": figures["dead_lettered"],
            "seconds": round(elapsed, 1),
            "records_per_s": round(records / elapsed),
            "counts": run["counts"],
        }
        print(
            f"{kind}: {records} records in {elapsed:.1f} s = {records / elapsed:.0f} records/s ({run['status']})",
            file=sys.stderr,
        )
    await pool.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--database-url", help="an existing PostgreSQL (it is migrated)")
    source.add_argument("--data-dir", type=Path, help="embedded PostgreSQL data directory (default: a temporary one)")
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--erps", default="odoo,sap,netsuite", help="comma-separated: odoo, sap, netsuite")
    args = parser.parse_args()
    erps = [e.strip() for e in args.erps.split(",") if e.strip()]

    url = args.database_url
    if url is None:
        from common.embedded_postgres import start_embedded_postgres

        data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="chainsight-erp-bench-", dir="/tmp")) / "pg"
        url = start_embedded_postgres(data_dir, cleanup="delete" if args.data_dir is None else "stop")

    from tests.support.fakes.netsuite import rsa_key, signing_key_pem

    key = rsa_key()  # the certificate NetSuite's fake verifies the client assertions with
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    context = multiprocessing.get_context("fork")
    urls, stop = context.Queue(), context.Event()
    fakes = context.Process(
        target=serve_fakes,
        args=(args.products, args.orders, args.page_size, urls, stop, public_pem, erps),
        daemon=True,
    )
    started = time.perf_counter()
    fakes.start()
    fake_urls = dict(zip(("odoo", "sap", "netsuite"), urls.get(timeout=900), strict=True))
    print(f"fake ERPs ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    try:
        results = asyncio.run(bench(url, fake_urls, args.page_size, erps, signing_key_pem(key)))
    finally:
        stop.set()
        fakes.join(timeout=10)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The headline counts only runs that succeeded: a failed run's partial count is no throughput.
    succeeded = [r for r in results.values() if r["status"] == "succeeded"]
    total = sum(r["records"] for r in succeeded)
    seconds = sum(r["seconds"] for r in succeeded)
    print(
        json.dumps(
            {
                "bench": "erp_sync",
                "products": args.products,
                "orders": args.orders,
                "page_size": args.page_size,
                **{f"{kind}_records_per_s": run["records_per_s"] for kind, run in results.items()},
                "records": total,
                "seconds": round(seconds, 1),
                "records_per_s": round(total / seconds) if seconds else None,
                "dead_lettered": sum(r["dead_lettered"] for r in results.values()),
                "failed_runs": sorted(kind for kind, r in results.items() if r["status"] != "succeeded"),
                "peak_rss_mib": round(peak_mib),
                "runs": results,
            },
            default=str,
        )
    )


if __name__ == "__main__":
    main()
