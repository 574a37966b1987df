"""The fake ERPs that ``bench/erp_sync.py`` syncs from, filled with a given number of products and orders
(each order with two lines); run in a child process so the bench measures the sync alone."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def serve_netsuite(products: int, orders: int, public_pem: bytes) -> str:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from tests.support.fakes.netsuite import FakeNetSuite

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
    from tests.support.fakes.odoo import FakeOdoo
    from tests.support.fakes.sap import FakeSap

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
    fill_sap(sap, *sap_size)
    urls.put((odoo.url, sap.url, serve_netsuite(*netsuite_size, public_pem)))
    stop.wait()


def fill_sap(sap: Any, products: int, orders: int) -> None:
    """50 vendors, ``products`` materials and ``orders`` purchase orders of two items each, in plant 1010."""
    sap.put_many(
        "A_BusinessPartner",
        [
            {
                "BusinessPartner": f"1{i:05d}",
                "Supplier": f"1{i:05d}",
                "BusinessPartnerFullName": f"Vendor {i}",
                "to_BusinessPartnerAddress": [{"Country": "DE"}],
            }
            for i in range(50)
        ],
        key="BusinessPartner",
    )
    sap.put_many(
        "A_Product",
        [
            {
                "Product": f"MAT{i:06d}",
                "BaseUnit": "PC",
                "IsMarkedForDeletion": False,
                "to_Description": [{"Language": "EN", "ProductDescription": f"Material {i}"}],
            }
            for i in range(products)
        ],
        key="Product",
    )
    sap.put_many(
        "A_PurchaseOrder",
        [
            {
                "PurchaseOrder": f"45{i:08d}",
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
            }
            for i in range(orders)
        ],
        key="PurchaseOrder",
    )
