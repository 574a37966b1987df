"""Export throughput and memory: stock movements as CSV and xlsx at 10k and 100k rows.

    python bench/export_throughput.py [--database-url URL | --data-dir DIR] [--sizes 10000,100000]

Runs the same code path as ``GET /api/v1/exports/stock-movements.{csv,xlsx}`` (a tenant transaction
under row-level security, a server-side cursor, the streaming writers) without HTTP, so the figures are
the export's own. Each export runs twice: once timed, once under tracemalloc for the peak of Python
memory, which must stay flat as rows grow. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg

from common.config import Settings
from common.database import Database, create_pool
from common.embedded_postgres import start_embedded_postgres
from common.migrate import apply_migrations
from inventory.exports import build
from inventory.exports.datasets import resolve
from inventory.listing import ListQuery
from inventory.stock import copy_movements

FORMATS = ("csv", "xlsx")


async def make_tenant(conn: asyncpg.Connection, rows: int) -> dict[str, str]:
    tenant, planner = uuid.uuid4(), uuid.uuid4()
    products = [uuid.uuid4() for _ in range(50)]
    warehouses = [uuid.uuid4() for _ in range(2)]
    slug = f"bench-{tenant.hex[:12]}"
    async with conn.transaction():
        await conn.execute("INSERT INTO app.tenants (id, name, slug) VALUES ($1, $2, $3)", tenant, slug, slug)
        await conn.execute(
            "INSERT INTO app.members (tenant_id, user_id, role) VALUES ($1, $2, 'planner')", tenant, planner
        )
        await conn.executemany(
            "INSERT INTO app.warehouses (id, tenant_id, code, name) VALUES ($1, $2, $3, $3)",
            [(w, tenant, f"WH-{i}") for i, w in enumerate(warehouses)],
        )
        await conn.executemany(
            "INSERT INTO app.products (id, tenant_id, sku, name) VALUES ($1, $2, $3, $3)",
            [(p, tenant, f"SKU-{i}") for i, p in enumerate(products)],
        )
        start = datetime(2025, 1, 1, tzinfo=UTC)
        await copy_movements(
            conn,
            [
                (
                    tenant,
                    products[i % len(products)],
                    warehouses[i % 2],
                    "receipt",
                    Decimal(i % 97 + 1) / 4,
                    f"bench {i}",
                    start + timedelta(minutes=i),
                )
                for i in range(rows)
            ],
        )
    return {"sub": str(planner), "role": "authenticated"}


async def run_export(database: Database, claims: dict, fmt: str) -> int:
    dataset, export_format = resolve(f"stock-movements.{fmt}")
    size = 0
    async with database.tenant_transaction(claims, None) as tx:
        prepared = await build.prepare(tx.conn, dataset, export_format, ListQuery(limit=1), datetime.now(UTC))
        async for chunk in prepared.chunks:
            size += len(chunk)
    return size


async def measure(url: str, sizes: list[int]) -> list[dict]:
    await apply_migrations(url)
    settings = Settings(_env_file=None, database_url=url, database_statement_timeout_ms=0)  # type: ignore[call-arg]
    pool = await create_pool(settings)
    database = Database(pool)
    results = []
    try:
        for rows in sizes:
            async with pool.acquire() as conn:
                claims = await make_tenant(conn, rows)
            for fmt in FORMATS:
                started = time.perf_counter()
                size = await run_export(database, claims, fmt)
                seconds = time.perf_counter() - started
                tracemalloc.start()
                await run_export(database, claims, fmt)
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                result = {
                    "format": fmt,
                    "rows": rows,
                    "seconds": round(seconds, 2),
                    "rows_per_s": round(rows / seconds),
                    "bytes": size,
                    "peak_python_mib": round(peak / 2**20, 2),
                }
                print(
                    f"{fmt:5} {rows:>7} rows  {seconds:6.2f} s  {result['rows_per_s']:>7} rows/s  "
                    f"{size / 2**20:6.1f} MiB out  peak Python memory {result['peak_python_mib']:5.2f} MiB"
                )
                results.append(result)
    finally:
        await pool.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="PostgreSQL to use (default: a throwaway embedded server)")
    parser.add_argument("--data-dir", type=Path, help="where the embedded server keeps its data")
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated row counts")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    url = args.database_url
    if not url:
        data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="chainsight-bench-")) / "pgdata"
        url = start_embedded_postgres(data_dir, cleanup="stop" if args.data_dir else "delete")
    results = asyncio.run(measure(url, sizes))
    summary = {"bench": "export_throughput", "results": results}
    for fmt in FORMATS:
        peaks = [r["peak_python_mib"] for r in results if r["format"] == fmt]
        summary[f"{fmt}_peak_growth"] = round(peaks[-1] / peaks[0], 2) if peaks and peaks[0] else None
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
