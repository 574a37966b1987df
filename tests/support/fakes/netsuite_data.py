"""Test data for the fake NetSuite account: a small populated account and the certificate key the connector
signs its client assertions with."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.support.fakes.netsuite import FakeNetSuite


def populate(fake: FakeNetSuite, *, items: int = 6, orders: int = 3) -> dict[str, Any]:
    """A small account: two locations, three vendors, items (one without an item id, one in crates), stock,
    orders in three states. Returns the records made, by role."""
    each = fake.add("unitstypeuom", {"internalid": 1, "unitname": "Each", "abbreviation": "ea"})
    kilo = fake.add("unitstypeuom", {"internalid": 2, "unitname": "Kilogram", "abbreviation": "kg"})
    crate = fake.add("unitstypeuom", {"internalid": 3, "unitname": "Crate", "abbreviation": "cr"})
    usd = fake.add("currency", {"id": 1, "symbol": "USD", "name": "US Dollar"})
    fake.add("currency", {"id": 2, "symbol": "EUR", "name": "Euro"})
    fake.add("locationmainaddress", {"nkey": 501, "country": "US", "city": "Austin"})
    fake.add("locationmainaddress", {"nkey": 502, "country": "US", "city": "Reno"})
    locations = [
        fake.put("location", {"name": "AUS", "fullname": "Austin DC", "isinactive": False, "mainaddress": 501}),
        fake.put("location", {"name": "RNO", "fullname": "Reno DC", "isinactive": False, "mainaddress": 502}),
    ]
    vendors = [
        fake.put(
            "vendor",
            {
                "entityid": f"VEND-{i}",
                "companyname": f"Vendor {i}",
                "email": f"v{i}@example.com",
                "currency": 2 if i == 2 else usd["id"],  # a vendor's primary currency: the third invoices in EUR
                "isinactive": False,
            },
        )
        for i in range(3)
    ]
    made = fake.put_many(  # an import: every item shares one lastmodifieddate
        "item",
        [
            {
                "itemid": "" if i == 0 else f"ITEM-{i:03d}",
                "displayname": f"Item {i}",
                "itemtype": "InvtPart",
                "stockunit": crate["internalid"] if i == 1 else (kilo if i % 2 else each)["internalid"],
                "cost": Decimal("2.50") + i,
                "isinactive": False,
            }
            for i in range(items)
        ],
    )
    good = made[2:]
    for item in made:
        for n, location in enumerate(locations):
            for bin_number in (1, 2):  # two bins per location: summed per item and location
                fake.add(
                    "inventorybalance",
                    {
                        "item": item["id"],
                        "location": location["id"],
                        "binnumber": bin_number,
                        "quantityonhand": Decimal(5 * (n + 1)),
                    },
                )
    statuses = ["A", "B", "H"]  # Pending Supervisor Approval, Pending Receipt, Closed
    order_rows = []
    for i in range(orders):
        order = fake.put(
            "transaction",
            {
                "type": "PurchOrd",
                "tranid": f"PO{900 + i}",
                "entity": vendors[i % 3]["id"],
                "status": statuses[i % 3],
                "currency": usd["id"],
                "trandate": datetime(2026, 1, 20),
                "duedate": datetime(2026, 2, 10 + i),
            },
        )
        fake.add("transactionline", {"id": 0, "transaction": order["id"], "linesequencenumber": 0, "mainline": "T"})
        for j in range(2):
            item = good[(i + j) % len(good)]
            fake.add(
                "transactionline",
                {
                    "id": j + 1,
                    "transaction": order["id"],
                    "linesequencenumber": j + 1,
                    "mainline": "F",
                    "item": item["id"],
                    "itemtype": "InvtPart",
                    "quantity": Decimal(4 + j),
                    "rate": Decimal("3.25"),
                    "units": item["stockunit"],
                    "location": locations[i % 2]["id"],
                    "quantityshiprecv": Decimal(0),
                    "isclosed": statuses[i % 3] == "H",
                },
            )
        order_rows.append(order)
    fake.add(  # a tax line on the first order: not an item line
        "transactionline",
        {
            "id": 3,
            "transaction": order_rows[0]["id"],
            "linesequencenumber": 3,
            "mainline": "F",
            "itemtype": "TaxItem",
            "quantity": Decimal(1),
            "rate": Decimal("0.5"),
        },
    )
    fake.made = {"locations": locations, "vendors": vendors, "items": made, "orders": order_rows}
    return fake.made


def signing_key_pem(private_key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def rsa_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=3072)  # NetSuite takes no shorter RSA key
