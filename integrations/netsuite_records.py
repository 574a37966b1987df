"""NetSuite's SuiteQL rows as the vendor-neutral records of ``integrations.records``.

Purchase order status comes from the transaction's status code and the lines' received quantities
(``quantityshiprecv``): A (pending approval) is a draft, C (rejected) or H (closed) with nothing received is
cancelled, every line received is received, some received or D/E is partially received, else issued.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from integrations.records import PurchaseOrderStatus, SourceRecord, decimal_or_none

ITEM_TYPES = ("InvtPart", "Assembly", "NonInvtPart")


def flag(value: Any) -> bool:
    return value in ("T", True, "true")


def item_record(r: dict[str, Any], default_unit: str | None) -> SourceRecord:
    fields = {
        "sku": r.get("itemid"),
        "name": r.get("displayname") or r.get("itemid"),
        "uom": r.get("stockunit") or default_unit,
        "unit_cost": decimal_or_none(r.get("cost")),
        "active": not flag(r.get("isinactive")),
    }
    return SourceRecord(str(r.get("id") or ""), fields, r)


def order_record(r: dict[str, Any], all_lines: list[dict[str, Any]], default_unit: str | None) -> SourceRecord:
    lines = [x for x in all_lines if x.get("itemtype") in ITEM_TYPES]
    quantity = [decimal_or_none(x.get("quantity")) or Decimal(0) for x in lines]
    received = [decimal_or_none(x.get("quantityshiprecv")) or Decimal(0) for x in lines]
    code = str(r.get("status") or "")
    # A closed line (or every line of a closed order) delivers nothing more: its rest is cancelled.
    cancelled = [
        max(want - got, Decimal(0)) if code == "H" or flag(x.get("isclosed")) else Decimal(0)
        for x, want, got in zip(lines, quantity, received, strict=True)
    ]
    if code == "A":  # Pending Supervisor Approval
        status = PurchaseOrderStatus.DRAFT
    elif code == "C" or (code == "H" and not any(received)):  # Rejected by Supervisor; Closed unreceived
        status = PurchaseOrderStatus.CANCELLED
    elif lines and all(got + gone >= want for got, gone, want in zip(received, cancelled, quantity, strict=True)):
        status = PurchaseOrderStatus.RECEIVED
    elif any(received) or code in ("D", "E"):  # Partially Received; Pending Billing/Partially Received
        status = PurchaseOrderStatus.PARTIALLY_RECEIVED
    else:
        status = PurchaseOrderStatus.ISSUED
    fields = {
        "number": r.get("tranid"),
        "chainsight_number": r.get("externalid") or None,
        "supplier_external_id": str(r["entity"]) if r.get("entity") else None,
        "warehouse_external_id": next((str(x["location"]) for x in lines if x.get("location")), None),
        "currency": r.get("currency") or None,
        "expected_date": r.get("duedate") or None,
        "ordered_on": r.get("trandate") or None,  # the order's date, a day: the receiving warehouse's
        "status": status.value,
        "lines": [
            {
                "line_no": x.get("linesequencenumber"),
                "product_external_id": str(x["item"]) if x.get("item") else None,
                "quantity": want,
                "uom": x.get("units") or default_unit,
                "unit_price": decimal_or_none(x.get("rate")),
                "received_quantity": got,
                "cancelled_quantity": gone,
            }
            for x, want, got, gone in zip(lines, quantity, received, cancelled, strict=True)
        ],
    }
    return SourceRecord(str(r.get("id") or ""), fields, {**r, "lines": all_lines})


def location_record(r: dict[str, Any]) -> SourceRecord:
    fields = {
        "code": r.get("name"),
        "name": r.get("fullname") or r.get("name"),
        "country": r.get("country") or None,
        "city": r.get("city") or None,
    }
    return SourceRecord(str(r.get("id") or ""), fields, r)


def vendor_record(r: dict[str, Any]) -> SourceRecord:
    fields = {
        "code": r.get("entityid"),
        "name": r.get("companyname") or r.get("entityid"),
        "email": r.get("email") or None,
        "currency": r.get("currency") or "",  # the vendor's primary currency's ISO code
        "active": not flag(r.get("isinactive")),
    }
    return SourceRecord(str(r.get("id") or ""), fields, r)


def balance_record(r: dict[str, Any]) -> SourceRecord:
    item, location = str(r.get("item") or ""), str(r.get("location") or "")
    fields = {
        "product_external_id": item,
        "warehouse_external_id": location or None,
        "quantity": decimal_or_none(r.get("quantityonhand")),
    }
    return SourceRecord(f"{item}@{location}", fields, r)
