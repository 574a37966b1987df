"""Receiving purchase orders: quantities in the product's unit at the ledger's precision, a receipt checked
against the locked lines (tolerance, lots) and its date against the order's issue, the lot a received line goes
into, and reading receipts back.

``inventory.purchasing.receive`` writes the receipt with these in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any
from uuid import UUID

import asyncpg

from common.errors import ConflictError, ExpiredValueError, InvalidInputError, NotFoundError
from inventory.purchasing_schemas import PurchaseReceiptCreate

QUANTUM = Decimal("0.0001")


def to_base(quantity: Decimal, factor: Decimal) -> Decimal:
    """A quantity in the ordered unit, in the product's unit, at the ledger's precision. Computed past the 28
    digits Python keeps by default (10^13 pallets of 10^11 each): the callers refuse what the columns cannot keep,
    where the quantize failed (InvalidOperation, a 500)."""
    with localcontext() as exact:
        exact.prec = 60
        return (quantity * factor).quantize(QUANTUM, rounding=ROUND_HALF_UP)


async def locked_lines(conn: asyncpg.Connection, order_id: UUID) -> dict[UUID, dict]:
    """An order's lines, locked for a receipt, with what their receipts brought in the ordered unit so far."""
    rows = await conn.fetch(
        """SELECT l.id, l.product_id, l.quantity, l.quantity_base, l.uom_factor, l.received_base, p.lot_tracked, p.sku,
                  (SELECT coalesce(sum(rl.quantity), 0) FROM app.purchase_receipt_lines rl
                   WHERE rl.tenant_id = l.tenant_id AND rl.purchase_order_line_id = l.id) AS received_quantity
           FROM app.purchase_order_lines l
           JOIN app.products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id
           WHERE l.purchase_order_id = $1 ORDER BY l.id FOR UPDATE OF l""",
        order_id,
    )
    return {row["id"]: dict(row) for row in rows}


def check_receipt(
    order: dict, lines: dict[UUID, dict], receipt: PurchaseReceiptCreate
) -> tuple[dict[UUID, Decimal], list[Decimal]]:
    """Validate a receipt against the locked lines; returns the quantity arriving per line and per receipt line
    (product unit). Each is converted on its own, but the one that brings a line to exactly its ordered quantity
    (in the ordered unit) books what is left of the line's converted figure: rounded one at a time, 5 lb and 5 lb
    made 4.5360 kg of an order for 4.5359 (10 lb), refused as more than ordered."""
    incoming: dict[UUID, Decimal] = {}
    bases: list[Decimal] = []
    received = {line_id: line["received_quantity"] for line_id, line in lines.items()}
    for index, item in enumerate(receipt.lines):
        line = lines.get(item.line_id)
        if line is None:
            raise NotFoundError(
                f"lines[{index}]: line {item.line_id} is not on purchase order {order['number']}", code="unknown_line"
            )
        base = to_base(item.quantity, line["uom_factor"])
        received[item.line_id] += item.quantity
        left = line["quantity_base"] - line["received_base"] - incoming.get(item.line_id, Decimal(0))
        if base > 0 and received[item.line_id] == line["quantity"] and left > 0:
            base = left
        bases.append(base)
        if base <= 0:
            raise InvalidInputError(
                f"lines[{index}]: {item.quantity:f} is below the ledger's precision once converted", code="too_small"
            )
        if line["lot_tracked"] and item.lot_number is None:
            raise InvalidInputError(
                f"lines[{index}]: product {line['sku']} is lot-tracked; give a lot_number", code="lot_required"
            )
        if not line["lot_tracked"] and item.lot_number is not None:
            raise InvalidInputError(
                f"lines[{index}]: product {line['sku']} is not lot-tracked; omit lot_number and expiry_date",
                code="lot_not_tracked",
            )
        incoming[item.line_id] = incoming.get(item.line_id, Decimal(0)) + base
    tolerance = order["over_receipt_tolerance_pct"]
    for line_id, quantity in incoming.items():
        line = lines[line_id]
        allowed = (line["quantity_base"] * (1 + tolerance / 100)).quantize(QUANTUM)
        if line["received_base"] + quantity > allowed:
            raise ConflictError(
                f"receiving {quantity:f} more of {line['sku']} would exceed the ordered {line['quantity_base']:f} "
                f"plus the {tolerance:f}% tolerance ({allowed:f}); {line['received_base']:f} already received",
                code="over_receipt",
                details={
                    "line_id": str(line_id),
                    "ordered": float(line["quantity_base"]),
                    "received": float(line["received_base"]),
                    "requested": float(quantity),
                    "allowed": float(allowed),
                },
            )
    return incoming, bases


async def received_when(conn: asyncpg.Connection, order: dict, received_at: datetime | None) -> datetime:
    """When the receipt happened: ``received_at``, refused when its date is before the order was issued, both at
    the warehouse (UTC without a zone) as the delivery history reads them (a mistyped year made a negative lead
    time that every risk score averaged); else now. Imported deliveries are held to the same by a CHECK."""
    dates = await conn.fetchrow(
        """SELECT (coalesce(po.issued_at, po.created_at) AT TIME ZONE z.zone)::date AS issued_on,
                  ($2::timestamptz AT TIME ZONE z.zone)::date AS received_on, z.zone, now() AS now
           FROM app.purchase_orders po
           JOIN app.warehouses w ON w.tenant_id = po.tenant_id AND w.id = po.warehouse_id
           CROSS JOIN LATERAL (SELECT coalesce(w.timezone, 'UTC') AS zone) z
           WHERE po.id = $1""",
        order["id"],
        received_at,
    )
    assert dates is not None  # the caller holds the order's lock
    if received_at is None:
        now: datetime = dates["now"]
        return now
    if dates["received_on"] < dates["issued_on"]:
        # 422 with the schema's refusal of a received_at in the future: a date the receipt cannot have.
        raise ExpiredValueError(
            f"received_at {received_at.isoformat()} is {dates['received_on']} in the warehouse's time zone "
            f"({dates['zone']}), before purchase order {order['number']} was issued on {dates['issued_on']}"
        )
    return received_at


async def receipt_lot(
    conn: asyncpg.Connection, tenant_id: UUID, line: dict, lot_number: str | None, expiry: Any
) -> UUID | None:
    if lot_number is None:
        return None
    row = await conn.fetchrow(
        """INSERT INTO app.stock_lots (tenant_id, product_id, lot_number, expiry_date) VALUES ($1, $2, $3, $4)
           ON CONFLICT (tenant_id, product_id, lot_number) DO NOTHING RETURNING id, expiry_date""",
        tenant_id,
        line["product_id"],
        lot_number,
        expiry,
    )
    if row is None:
        row = await conn.fetchrow(
            "SELECT id, expiry_date FROM app.stock_lots WHERE product_id = $1 AND lot_number = $2",
            line["product_id"],
            lot_number,
        )
        assert row is not None
        if expiry is not None and row["expiry_date"] is None:
            # Received before without its expiry: this receipt names it (once: a concurrent one may have filled it).
            filled = await conn.fetchval(
                """UPDATE app.stock_lots SET expiry_date = $2
                   WHERE id = $1 AND expiry_date IS NULL RETURNING expiry_date""",
                row["id"],
                expiry,
            )
            recorded = (
                filled
                if filled is not None
                else await conn.fetchval("SELECT expiry_date FROM app.stock_lots WHERE id = $1", row["id"])
            )
        else:
            recorded = row["expiry_date"]
        if expiry is not None and recorded != expiry:
            raise ConflictError(
                f"lot {lot_number} of {line['sku']} is already recorded with expiry {recorded}, not {expiry}",
                code="lot_expiry_mismatch",
            )
    lot_id: UUID = row["id"]
    return lot_id


async def get_receipt(conn: asyncpg.Connection, receipt_id: UUID) -> dict:
    header = await conn.fetchrow(
        """SELECT id, purchase_order_id, reference, backorder_closed, received_at, created_by
           FROM app.purchase_receipts WHERE id = $1""",
        receipt_id,
    )
    if header is None:
        raise NotFoundError(f"receipt {receipt_id} not found")
    lines = await conn.fetch(
        """SELECT r.id, r.purchase_order_line_id, l.product_id, r.quantity, r.quantity_base, r.lot_id,
                  s.lot_number, s.expiry_date, r.movement_id
           FROM app.purchase_receipt_lines r
           JOIN app.purchase_order_lines l ON l.tenant_id = r.tenant_id AND l.id = r.purchase_order_line_id
           JOIN app.stock_movements m ON m.id = r.movement_id
           LEFT JOIN app.stock_lots s ON s.tenant_id = r.tenant_id AND s.id = r.lot_id
           WHERE r.receipt_id = $1 ORDER BY m.seq""",
        receipt_id,
    )
    return {**dict(header), "lines": [dict(line) for line in lines]}
