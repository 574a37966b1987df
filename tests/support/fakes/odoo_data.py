"""Test data for the fake Odoo database: a small populated company (see ``tests.support.fakes.odoo``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.support.fakes.odoo import FakeOdoo


def populate(fake: FakeOdoo, *, products: int = 5, orders: int = 3, quants: bool = True) -> dict[str, Any]:
    """A small company: two warehouses, suppliers, products (the first two malformed when products >= 5),
    stock in internal locations, and purchase orders in several states."""
    ids: dict[str, Any] = {}
    with fake.lock:
        ids["warehouses"] = [
            fake.put("stock.warehouse", {"code": "WH", "name": "Main warehouse"}),
            fake.put("stock.warehouse", {"code": "WH2", "name": "Overflow"}),
        ]
        # Each warehouse's address (not a supplier): Odoo keeps a time zone on partners; the second has none.
        for warehouse, zone in zip(ids["warehouses"], ("Europe/Brussels", False), strict=True):
            fake.models["stock.warehouse"][warehouse]["partner_id"] = [900 + warehouse, f"Address {warehouse}"]
            fake.models.setdefault("res.partner", {})[900 + warehouse] = {
                "id": 900 + warehouse, "name": f"Address {warehouse}", "tz": zone, "supplier_rank": 0, "active": True,
            }  # fmt: skip
        fake.models["stock.picking.type"] = {
            n: {"id": n, "name": "Receipts", "code": "incoming", "warehouse_id": fake.name_of("stock.warehouse", w)}
            for n, w in enumerate(ids["warehouses"], start=1)
        }
        fake.models["stock.location"] = {
            8: {"id": 8, "name": "WH/Stock", "usage": "internal"},
            9: {"id": 9, "name": "Partners/Vendors", "usage": "supplier"},
        }
        ids["suppliers"] = [
            fake.put(
                "res.partner",
                {
                    "name": f"Supplier {i}",
                    "ref": f"V{i:03d}",
                    "email": f"v{i}@example.com",
                    "country_code": "BE",
                    "supplier_rank": 1,
                    # The third invoices in yen; the others in the company's currency (false, as Odoo answers).
                    "property_purchase_currency_id": [4, "JPY"] if i == 2 else False,
                    "active": True,
                },
            )
            for i in range(3)
        ]
        rows = []
        for i in range(products):
            code: Any = f"SKU-{i:06d}"
            uom = [1, "Units"] if i % 3 else [12, "kg"]
            if products >= 5 and i == 0:
                code = False  # no internal reference: dead-lettered
            if products >= 5 and i == 1:
                uom = [40, "Crate"]  # a unit nobody mapped: dead-lettered
            rows.append(
                {
                    "default_code": code,
                    "name": f"Product {i}",
                    "uom_id": uom,
                    "standard_price": round(1 + i * 0.25, 2),
                    "active": True,
                }
            )
        ids["products"] = fake.put_many("product.product", rows)
        if quants:
            for n, product in enumerate(ids["products"][2:], start=2):
                for w, warehouse in enumerate(ids["warehouses"]):
                    fake.put(
                        "stock.quant",
                        {
                            "product_id": fake.name_of("product.product", product),
                            "warehouse_id": fake.name_of("stock.warehouse", warehouse),
                            "location_id": [8, "WH/Stock"],
                            "quantity": float(10 * n + w),
                        },
                    )
            fake.put(
                "stock.quant",
                {
                    "product_id": fake.name_of("product.product", ids["products"][-1]),
                    "warehouse_id": fake.name_of("stock.warehouse", ids["warehouses"][0]),
                    "location_id": [9, "Partners/Vendors"],
                    "quantity": 999.0,
                },
            )
        states = ["draft", "purchase", "cancel"]
        order_rows, line_rows = [], []
        good = ids["products"][2:] if products >= 5 else ids["products"]
        for i in range(orders):
            order_rows.append(
                {
                    "name": f"P{i + 1:05d}",
                    "partner_id": fake.name_of("res.partner", ids["suppliers"][i % 3]),
                    "currency_id": [1, "EUR"],
                    "date_planned": "2026-02-01 10:00:00",
                    "date_order": "2026-01-20 09:00:00",
                    # Odoo stamps the confirmation (button_approve) on a confirmed order.
                    "date_approve": "2026-01-21 08:00:00" if states[i % 3] == "purchase" else False,
                    "state": states[i % 3],
                    "picking_type_id": [1 + i % 2, "Receipts"],
                }
            )
        ids["orders"] = fake.put_many("purchase.order", order_rows)
        for i, order in enumerate(ids["orders"]):
            for j in range(2):
                product = good[(i + j) % len(good)]
                line_rows.append(
                    {
                        "order_id": [order, f"P{i + 1:05d}"],
                        "sequence": 10 * (j + 1),
                        "product_id": fake.name_of("product.product", product),
                        "product_qty": float(5 + j),
                        fake.line_unit: fake.models["product.product"][product]["uom_id"],
                        "price_unit": 2.5,
                        "qty_received": 0.0,
                    }
                )
        fake.put_many("purchase.order.line", line_rows)
    return ids
