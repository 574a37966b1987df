"""Initial ERP sync throughput: products and purchase orders from the fake Odoo and the fake SAP Gateway.

    python bench/erp_sync.py [--database-url URL | --data-dir DIR] [--products 50000] [--orders 10000]

The fake ERPs (tests/integrations/fakes) run in a child process, so the figures are the sync's alone:
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
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.config import Settings
from common.database import Database, TenantTransaction, create_pool
from common.migrate import apply_migrations
from integrations import store
from integrations.http import RetryPolicy
from integrations.schemas import ConnectorCreate
from integrations.sync import SyncDeps, run_sync


def serve_fakes(products: int, orders: int, page_size: int, urls: Any, stop: Any) -> None:
    from tests.integrations.fakes.odoo import FakeOdoo
    from tests.integrations.fakes.sap import FakeSap

    odoo, sap = FakeOdoo().start(), FakeSap(page_size=page_size).start()
    odoo.put("stock.warehouse", {"code": "WH", "name": "Main"})
    suppliers = odoo.put_many(
        "res.partner",
        [
            {
                "name": f"S{i}",
                "ref": f"V{i:04d}",
                "supplier_rank": 1,
                "active": True,
                "email": False,
                "country_code": "BE",
            }
            for i in range(50)
        ],
    )
    product_ids = odoo.put_many(
        "product.product",
        [
            {
                "default_code": f"SKU-{i:06d}",
                "name": f"Product {i}",
                "uom_id": [1, "Units"],
                "standard_price": 2.5,
                "active": True,
            }
            for i in range(products)
        ],
    )
    order_ids = odoo.put_many(
        "purchase.order",
        [
            {
                "name": f"P{i:06d}",
                "partner_id": [suppliers[i % 50], f"S{i % 50}"],
                "currency_id": [1, "EUR"],
                "date_planned": "2026-02-01 10:00:00",
                "state": "purchase",
                "picking_type_id": False,
            }
            for i in range(orders)
        ],
    )
    odoo.put_many(
        "purchase.order.line",
        [
            {
                "order_id": [order, ""],
                "sequence": 10 * j,
                "product_id": [product_ids[(i * 2 + j) % products], ""],
                "product_qty": 4.0,
                "product_uom": [1, "Units"],
                "price_unit": 1.5,
                "qty_received": 0.0,
            }
            for i, order in enumerate(order_ids)
            for j in (1, 2)
        ],
    )
    for i in range(50):
        sap.put(
            "A_BusinessPartner",
            f"1{i:05d}",
            {
                "BusinessPartner": f"1{i:05d}",
                "Supplier": f"1{i:05d}",
                "BusinessPartnerFullName": f"Vendor {i}",
                "to_BusinessPartnerAddress": [{"Country": "DE"}],
            },
        )
    for i in range(products):
        material = f"MAT{i:06d}"
        sap.put(
            "A_Product",
            material,
            {
                "Product": material,
                "BaseUnit": "PC",
                "IsMarkedForDeletion": False,
                "to_Description": [{"Language": "EN", "ProductDescription": f"Material {i}"}],
            },
        )
    for i in range(orders):
        number = f"45{i:08d}"
        sap.put(
            "A_PurchaseOrder",
            number,
            {
                "PurchaseOrder": number,
                "Supplier": f"1{i % 50:05d}",
                "DocumentCurrency": "EUR",
                "PurchasingProcessingStatus": "05",
                "to_PurchaseOrderItem": [
                    {
                        "PurchaseOrderItem": str(10 * j),
                        "Material": f"MAT{(i * 2 + j) % products:06d}",
                        "Plant": "1010",
                        "OrderQuantity": Decimal(4),
                        "PurchaseOrderQuantityUnit": "PC",
                        "NetPriceAmount": Decimal("15"),
                        "NetPriceQuantity": Decimal(10),
                        "IsCompletelyDelivered": False,
                        "PurchasingDocumentDeletionCode": "",
                    }
                    for j in (1, 2)
                ],
            },
        )
    urls.put((odoo.url, sap.url))
    stop.wait()


async def bench(url: str, odoo_url: str, sap_url: str, page_size: int) -> dict[str, Any]:
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
    for kind, base_url, fields in (
        (
            "odoo",
            odoo_url,
            {
                "options": {"database": "prod"},
                "credentials": {"username": "sync@example.com", "api_key": "odoo-key"},
                "mapping": {"units": {"Units": "each"}, "default_warehouse": "WH"},
                "entities": ["warehouses", "suppliers", "products", "purchase_orders"],
            },
        ),
        (
            "sap",
            sap_url,
            {
                "credentials": {"username": "COMM_USER", "password": "sap-secret"},
                "mapping": {"units": {"PC": "each"}},
                "entities": ["suppliers", "products", "purchase_orders"],
            },
        ),
    ):
        data = ConnectorCreate.model_validate({"name": kind, "kind": kind, "base_url": base_url, **fields})

        async def create(tx: TenantTransaction, data: ConnectorCreate = data) -> dict:
            return await store.create_connector(tx, data, deps.cipher)

        connector = (await database.run(claims, tenant, create))["id"]
        started = time.perf_counter()
        run = await run_sync(deps, tenant, connector)
        elapsed = time.perf_counter() - started
        records = sum(sum(c.values()) for c in run["counts"].values())
        results[kind] = {
            "status": run["status"],
            "error": run["error"],
            "records": records,
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
    args = parser.parse_args()

    url = args.database_url
    if url is None:
        from common.embedded_postgres import start_embedded_postgres

        data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="chainsight-erp-bench-", dir="/tmp")) / "pg"
        url = start_embedded_postgres(data_dir, cleanup="delete" if args.data_dir is None else "stop")

    context = multiprocessing.get_context("fork")
    urls, stop = context.Queue(), context.Event()
    fakes = context.Process(
        target=serve_fakes, args=(args.products, args.orders, args.page_size, urls, stop), daemon=True
    )
    started = time.perf_counter()
    fakes.start()
    odoo_url, sap_url = urls.get(timeout=600)
    print(f"fake ERPs ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    try:
        results = asyncio.run(bench(url, odoo_url, sap_url, args.page_size))
    finally:
        stop.set()
        fakes.join(timeout=10)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = sum(r["records"] for r in results.values())
    seconds = sum(r["seconds"] for r in results.values())
    print(
        json.dumps(
            {
                "bench": "erp_sync",
                "products": args.products,
                "orders": args.orders,
                "page_size": args.page_size,
                "odoo_records_per_s": results["odoo"]["records_per_s"],
                "sap_records_per_s": results["sap"]["records_per_s"],
                "records": total,
                "seconds": round(seconds, 1),
                "records_per_s": round(total / seconds),
                "peak_rss_mib": round(peak_mib),
                "runs": results,
            },
            default=str,
        )
    )


if __name__ == "__main__":
    main()
