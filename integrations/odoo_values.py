"""How Odoo writes values: many2one fields as ``[id, display_name]`` or ``false``, ``false`` for an empty text,
a purchase order's ``state`` with its lines' received quantities as one of ours, and an order with its lines as our
order (and ours as a ``create``'s values)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from integrations.records import PurchaseOrderStatus, PushOrder, SourceRecord

# What a push writes in an order's ``origin``, before the Chainsight number.
PUSHED_ORIGIN = "Chainsight "


def m2o_id(value: Any) -> str | None:
    return str(value[0]) if isinstance(value, list) and value else None


def m2o_name(value: Any) -> str | None:
    return str(value[1]) if isinstance(value, list) and len(value) > 1 else None


def text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None  # Odoo sends false for empty fields


def pushed_number(origin: Any) -> str | None:
    """The Chainsight number of an order this project pushed, from the ``origin`` the push wrote."""
    value = text(origin)
    return value.removeprefix(PUSHED_ORIGIN) if value and value.startswith(PUSHED_ORIGIN) else None


def order_status(state: Any, lines: list[dict[str, Any]]) -> str | None:
    if state in ("purchase", "done") and lines and all(map(zeroed, lines)):
        # Every line of a confirmed order given up (set to 0, as Odoo keeps a confirmed order's lines) with nothing
        # received: nothing is ordered any more, as when it is cancelled (until 2026-12-07 dead-lettered for having no
        # line left). A draft's lines at 0 are being edited: it stays the draft it was (``apply_purchase_order``).
        return PurchaseOrderStatus.CANCELLED.value
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


def order_record(
    r: dict[str, Any], lines: list[dict[str, Any]], warehouses: dict[int, str | None], unit: str
) -> SourceRecord:
    """A ``purchase.order`` row with its goods lines as our order; ``warehouses`` by receipt type (``picking_type_id``),
    ``unit`` the name of the lines' unit field in this Odoo."""
    picking = r["picking_type_id"][0] if r["picking_type_id"] else None
    fields = {
        "number": text(r["name"]),
        "chainsight_number": pushed_number(r.get("origin")),
        "supplier_external_id": m2o_id(r["partner_id"]),
        "warehouse_external_id": warehouses.get(picking) if picking else None,
        "currency": m2o_name(r["currency_id"]),
        "expected_date": (text(r["date_planned"]) or "")[:10] or None,
        # Odoo's datetimes are UTC, "YYYY-MM-DD HH:MM:SS": its confirmation (date_approve), else its order date.
        "ordered_at": f"{at}+00:00" if (at := text(r.get("date_approve")) or text(r.get("date_order"))) else None,
        "status": order_status(r["state"], lines),
        "lines": order_lines(lines, unit),
    }
    return SourceRecord(str(r["id"]), fields, {**r, "order_line": lines})


def order_lines(lines: list[dict[str, Any]], unit: str) -> list[dict[str, Any]]:
    """An order's goods lines (``purchase.order.line`` rows) as our lines, numbered by position; ``unit`` names the
    line's unit field in this Odoo (``product_uom_id`` or ``product_uom``).

    Odoo refuses to delete a line of a confirmed order, so a line given up is set to 0: one with nothing received is
    left out, as a line deleted from the order (its number stays taken, so the others keep theirs). A line received
    past what it orders (the rest of a zeroed line already in) orders what was received."""
    items = []
    for i, line in enumerate(lines, start=1):
        if zeroed(line):
            continue
        ordered, received = Decimal(str(line["product_qty"] or 0)), Decimal(str(line["qty_received"] or 0))
        items.append(
            {
                "line_no": i,
                "product_external_id": m2o_id(line["product_id"]),
                "quantity": line["qty_received"] if received > ordered else line["product_qty"],
                "uom": m2o_name(line[unit]),
                "unit_price": net_unit_price(line["price_unit"], line["discount"]),
                "received_quantity": line["qty_received"] or 0,
            }
        )
    return items


def zeroed(line: dict[str, Any]) -> bool:
    """A line set to 0 with nothing received: given up, as a deleted line."""
    return Decimal(str(line["product_qty"] or 0)) == Decimal(str(line["qty_received"] or 0)) == 0


def net_unit_price(price_unit: Any, discount: Any) -> Any:
    """A line's price after its ``discount`` (a percentage), as Odoo's ``price_unit_discounted`` and its subtotal
    count it. A line without one keeps Odoo's number as read, so the fingerprint stored of it is still its own."""
    if not discount:
        return price_unit
    return Decimal(str(price_unit)) * (1 - Decimal(str(discount)) / 100)


def order_values(
    order: PushOrder, origin: str, picking_type_id: int, currency_id: int, units: dict[str, int], unit_field: str
) -> dict[str, Any]:
    """A ``purchase.order`` create's values for ``order``, its lines in one2many create commands.

    ``units`` is each product's stock unit (``uom_id``) by product id: the lines' quantities and prices are per that
    unit, and a line created without one in ``unit_field`` (the lines' unit field in this Odoo) takes the product's
    purchase unit. Without ``currency_id`` it takes the company's currency (an RPC create runs no onchange, so not even
    the vendor's)."""
    values: dict[str, Any] = {
        "partner_id": int(order.supplier_external_id),
        "currency_id": currency_id,
        "picking_type_id": picking_type_id,
        "origin": origin,
        "order_line": [
            [
                0,
                0,
                {
                    "product_id": int(line.product_external_id),
                    "name": line.sku,
                    "sequence": line.line_no * 10,
                    "product_qty": float(line.quantity),
                    unit_field: units[line.product_external_id],
                    "price_unit": float(line.unit_price),
                },
            ]
            for line in order.lines
        ],
    }
    if order.expected_date:
        values["date_planned"] = f"{order.expected_date.isoformat()} 00:00:00"
    return values
