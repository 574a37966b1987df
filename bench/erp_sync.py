"""Initial ERP sync throughput: products and purchase orders from the fake Odoo, SAP Gateway and NetSuite.

    python bench/erp_sync.py [--database-url URL | --data-dir DIR] [--products 50000] [--orders 10000]
                             [--erps odoo,sap,netsuite]

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

from cryptography.hazmat.primitives import serialization

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.config import Settings
from common.database import Database, TenantTransaction, create_pool
from common.migrate import apply_migrations
from integrations import store
from integrations.http import RetryPolicy
from integrations.schemas import ConnectorCreate
from integrations.sync import SyncDeps, run_sync


def serve_netsuite(products: int, orders: int, public_pem: bytes) -> str:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from tests.integrations.fakes.netsuite import FakeNetSuite

    ns = FakeNetSuite(public_key=load_pem_public_key(public_pem)).start()
    ns.add("unitstypeuom", {"internalid": 1, "unitname": "Each"})
    ns.add("currency", {"id": 1, "symbol": "USD", "name": "US Dollar"})
    location = ns.put("location", {"name": "1010", "fullname": "Plant 1010", "isinactive": False})
    vendors = ns.put_many(
        "vendor", [{"entityid": f"V{i:04d}", "companyname": f"S{i}", "isinactive": False} for i in range(50)]
    )
    items = ns.put_many(
        "item",
        [
            {
                "itemid": f"NS-{i:06d}",
                "displayname": f"Item {i}",
                "itemtype": "InvtPart",
                "stockunit": 1,
                "cost": Decimal("2.5"),
                "isinactive": False,
            }
            for i in range(products)
        ],
    )
    made = ns.put_many(
        "transaction",
        [
            {
                "type": "PurchOrd",
                "tranid": f"PO{i:06d}",
                "entity": vendors[i % 50]["id"],
                "status": "B",
                "currency": 1,
            }
            for i in range(orders)
        ],
    )
    for i, order in enumerate(made):
        for j in (1, 2):
            ns.add(
                "transactionline",
                {
                    "id": j,
                    "transaction": order["id"],
                    "linesequencenumber": j,
                    "mainline": "F",
                    "item": items[(i * 2 + j) % products]["id"],
                    "itemtype": "InvtPart",
                    "quantity": Decimal(4),
                    "rate": Decimal("1.5"),
                    "units": 1,
                    "location": location["id"],
                    "quantityshiprecv": Decimal(0),
                    "isclosed": False,
                },
            )
    return ns.url


def serve_fakes(
    products: int, orders: int, page_size: int, urls: Any, stop: Any, public_pem: bytes, erps: list[str]
) -> None:
    from tests.integrations.fakes.odoo import FakeOdoo
    from tests.integrations.fakes.sap import FakeSap

    # Only the ERPs benched get data (an empty fake costs nothing).
    netsuite_size = (products, orders) if "netsuite" in erps else (0, 0)
    sap_size = (products, orders) if "sap" in erps else (0, 0)
    products, orders = (products, orders) if "odoo" in erps else (0, 0)

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
    for i in range(sap_size[0]):
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
    for i in range(sap_size[1]):
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
                        "Material": f"MAT{(i * 2 + j) % sap_size[0]:06d}",
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
    urls.put((odoo.url, sap.url, serve_netsuite(*netsuite_size, public_pem)))
    stop.wait()


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
    parser.add_argument("--erps", default="odoo,sap,netsuite", help="comma-separated: odoo, sap, netsuite")
    args = parser.parse_args()
    erps = [e.strip() for e in args.erps.split(",") if e.strip()]

    url = args.database_url
    if url is None:
        from common.embedded_postgres import start_embedded_postgres

        data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="chainsight-erp-bench-", dir="/tmp")) / "pg"
        url = start_embedded_postgres(data_dir, cleanup="delete" if args.data_dir is None else "stop")

    from tests.integrations.fakes.netsuite import rsa_key, signing_key_pem

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
    total = sum(r["records"] for r in results.values())
    seconds = sum(r["seconds"] for r in results.values())
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
                "records_per_s": round(total / seconds),
                "peak_rss_mib": round(peak_mib),
                "runs": results,
            },
            default=str,
        )
    )


if __name__ == "__main__":
    main()
