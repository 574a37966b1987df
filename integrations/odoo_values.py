"""How Odoo writes values: many2one fields as ``[id, display_name]`` or ``false``, ``false`` for an empty text,
and a purchase order's ``state`` with its lines' received quantities as one of ours."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from integrations.records import PurchaseOrderStatus


def m2o_id(value: Any) -> str | None:
    return str(value[0]) if isinstance(value, list) and value else None


def m2o_name(value: Any) -> str | None:
    return str(value[1]) if isinstance(value, list) and len(value) > 1 else None


def text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None  # Odoo sends false for empty fields


def order_status(state: Any, lines: list[dict[str, Any]]) -> str | None:
    if state in ("draft", "sent", "to approve"):
        return PurchaseOrderStatus.DRAFT.value
    if state == "cancel":
        return PurchaseOrderStatus.CANCELLED.value
    if state in ("purchase", "done"):
        received = [Decimal(str(x["qty_received"] or 0)) for x in lines]
        ordered = [Decimal(str(x["product_qty"] or 0)) for x in lines]
        if lines and all(r >= o for r, o in zip(received, ordered, strict=True)):
            return PurchaseOrderStatus.RECEIVED.value
        if any(r > 0 for r in received):
            return PurchaseOrderStatus.PARTIALLY_RECEIVED.value
        return PurchaseOrderStatus.ISSUED.value
    return None
