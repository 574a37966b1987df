"""Purchase orders: drafts and their lines, issuing, cancelling and receiving (the status life cycle is in
``purchasing_status``, the checks a receipt passes in ``purchasing_receipts``).

A receipt runs in the caller's one transaction: it locks the order (so concurrent receipts on one order
queue up and each sees what the previous one received), checks every line against the ordered quantity
plus the order's over-receipt tolerance, writes one ledger movement per line (the ledger trigger moves
``stock_levels``), records lots, and moves the order on. Any refusal rolls everything back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from common.errors import ConflictError, InvalidInputError, NotFoundError
from inventory.listing import CURRENCY_CODE, KnownValues, Listing, ListQuery, Page
from inventory.pricing import PriceEvidence, listed_total, price_evidence, supplier_currency
from inventory.purchasing_receipts import check_receipt, get_receipt, locked_lines, receipt_lot, received_when, to_base
from inventory.purchasing_schemas import (
    PurchaseOrderCreate,
    PurchaseOrderLineCreate,
    PurchaseOrderStatus,
    PurchaseOrderUpdate,
    PurchaseReceiptCreate,
)
from inventory.purchasing_status import (
    advance,
    allowed_from,
    lock_order,
    lock_to_cancel,
    refuse_erp_managed,
    refuse_inactive_references,
)
from inventory.records import refuse_inactive, unknown_reference, write_refusals
from inventory.schemas import LARGEST_PRICE, LARGEST_QUANTITY
from inventory.stock import LedgerEntry, insert_movement, lock_levels
from inventory.uom import conversion_factor

SUMMARY_COLUMNS = (
    "id, number, status, supplier_id, supplier_code, warehouse_id, warehouse_code, currency, expected_date, "
    "incoterm, over_receipt_tolerance_pct, origin, notes, line_count, total_amount, created_by, issued_at, "
    "received_at, cancelled_at, created_at, updated_at"
)

ORDERS = Listing(
    table="app.purchase_order_summaries",
    columns=tuple(c.strip() for c in SUMMARY_COLUMNS.split(",")),
    sortable={"created_at": datetime, "number": str, "updated_at": datetime},
    default_sort="-created_at",
    equality_filters={
        "status": "text",
        "supplier_id": "uuid",
        "warehouse_id": "uuid",
        "currency": "text",
        "origin": "text",
    },
    known_values={"status": KnownValues.of(PurchaseOrderStatus), "currency": CURRENCY_CODE},
    search_columns=("number", "supplier_code", "notes"),
)

# Which status each action may start from (the status changes from the life cycle in purchasing_status).
_CAN_EDIT = frozenset({PurchaseOrderStatus.DRAFT})
_CAN_ISSUE = allowed_from(PurchaseOrderStatus.ISSUED)
_CAN_CANCEL = allowed_from(PurchaseOrderStatus.CANCELLED)
_CAN_RECEIVE = allowed_from(PurchaseOrderStatus.RECEIVED)


async def create_order(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    user_id: UUID,
    data: PurchaseOrderCreate,
    *,
    default_tolerance_pct: Decimal,
    origin: str | None = None,
) -> dict:
    tolerance = data.over_receipt_tolerance_pct
    await refuse_inactive(conn, "supplier", data.supplier_id)
    await refuse_inactive(conn, "warehouse", data.warehouse_id)
    currency = data.currency or await supplier_currency(conn, data.supplier_id)
    with write_refusals("the order number is taken", {"supplier": data.supplier_id, "warehouse": data.warehouse_id}):
        order_id = await conn.fetchval(
            """INSERT INTO app.purchase_orders
                   (tenant_id, supplier_id, warehouse_id, currency, expected_date, incoterm,
                    over_receipt_tolerance_pct, notes, origin, created_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id""",
            tenant_id,
            data.supplier_id,
            data.warehouse_id,
            currency,
            data.expected_date,
            data.incoterm,
            default_tolerance_pct if tolerance is None else tolerance,
            data.notes,
            origin,
            user_id,
        )
    evidence = await price_evidence(conn, data.supplier_id, currency, _unpriced(data.lines))
    total = Decimal(0)
    for index, line in enumerate(data.lines):
        total += await _insert_line(conn, tenant_id, order_id, line, total, evidence, where=f"lines[{index}]: ")
    return await get_order(conn, order_id)


async def get_order(conn: asyncpg.Connection, order_id: UUID) -> dict:
    row = await conn.fetchrow(f"SELECT {SUMMARY_COLUMNS} FROM app.purchase_order_summaries WHERE id = $1", order_id)
    if row is None:
        raise NotFoundError(f"purchase order {order_id} not found")
    lines = await conn.fetch(
        """SELECT l.id, l.line_no, l.product_id, p.sku, l.quantity, l.uom, l.uom_factor, l.quantity_base,
                  p.unit_of_measure AS product_uom, l.unit_price, l.quantity * l.unit_price AS amount,
                  l.received_base, l.cancelled_base, l.erp_given_up_at,
                  greatest(l.quantity_base - l.received_base - l.cancelled_base, 0) * $2 AS backorder_base
           FROM app.purchase_order_lines l
           JOIN app.products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id
           WHERE l.purchase_order_id = $1
           ORDER BY l.line_no, l.erp_given_up_at NULLS FIRST, l.id""",
        order_id,
        int(row["status"] != "cancelled"),  # nothing more comes on a cancelled order
    )
    return {**dict(row), "lines": [dict(line) for line in lines]}


async def list_orders(conn: asyncpg.Connection, query: ListQuery) -> Page:
    sql, params = ORDERS.build(query)
    return ORDERS.page(await conn.fetch(sql, *params), query)


async def update_order(conn: asyncpg.Connection, order_id: UUID, changes: PurchaseOrderUpdate) -> dict:
    order = await lock_order(conn, order_id, _CAN_EDIT, "edited")
    refuse_erp_managed(order, "edited")  # the next sync would put the ERP's version back, saying nothing
    values: dict[str, Any] = changes.model_dump(exclude_unset=True)
    if values.get("currency", order["currency"]) != order["currency"] and await conn.fetchval(
        "SELECT count(*) FROM app.purchase_order_lines WHERE purchase_order_id = $1", order_id
    ):
        # Its prices were stated in the old currency; relabelling them would change what the order says it costs.
        raise ConflictError(
            f"purchase order {order['number']} has lines priced in {order['currency']}: remove them before "
            f"changing its currency to {values['currency']} (Chainsight keeps no exchange rates)",
            code="currency_has_lines",
            details={"currency": order["currency"]},
        )
    for kind in ("supplier", "warehouse"):
        if values.get(f"{kind}_id") is not None:
            await refuse_inactive(conn, kind, values[f"{kind}_id"])
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(values, start=2))
    try:
        await conn.execute(
            f"UPDATE app.purchase_orders SET {assignments}, updated_at = now() WHERE id = $1",
            order_id,
            *values.values(),
        )
    except asyncpg.ForeignKeyViolationError as exc:
        raise unknown_reference(
            exc, {"supplier": values.get("supplier_id"), "warehouse": values.get("warehouse_id")}
        ) from exc
    return await get_order(conn, order_id)


async def add_line(conn: asyncpg.Connection, tenant_id: UUID, order_id: UUID, line: PurchaseOrderLineCreate) -> dict:
    order = await lock_order(conn, order_id, _CAN_EDIT, "edited")
    refuse_erp_managed(order, "edited")
    total = await conn.fetchval(
        "SELECT coalesce(sum(quantity * unit_price), 0) FROM app.purchase_order_lines WHERE purchase_order_id = $1",
        order_id,
    )
    evidence = await price_evidence(conn, order["supplier_id"], order["currency"], _unpriced([line]))
    await _insert_line(conn, tenant_id, order_id, line, total, evidence)
    await conn.execute("UPDATE app.purchase_orders SET updated_at = now() WHERE id = $1", order_id)
    return await get_order(conn, order_id)


async def remove_line(conn: asyncpg.Connection, order_id: UUID, line_id: UUID) -> dict:
    refuse_erp_managed(await lock_order(conn, order_id, _CAN_EDIT, "edited"), "edited")
    status = await conn.execute(
        "DELETE FROM app.purchase_order_lines WHERE id = $1 AND purchase_order_id = $2", line_id, order_id
    )
    if status == "DELETE 0":
        raise NotFoundError(f"line {line_id} is not on purchase order {order_id}", code="unknown_line")
    await conn.execute("UPDATE app.purchase_orders SET updated_at = now() WHERE id = $1", order_id)
    return await get_order(conn, order_id)


async def issue_order(conn: asyncpg.Connection, tenant_id: UUID, order_id: UUID) -> dict:
    current = await lock_order(conn, order_id, _CAN_ISSUE, "issued")
    if not await conn.fetchval("SELECT count(*) FROM app.purchase_order_lines WHERE purchase_order_id = $1", order_id):
        raise ConflictError(
            f"purchase order {current['number']} has no lines; add lines before issuing it", code="empty_order"
        )
    await refuse_inactive_references(conn, current)
    await advance(conn, tenant_id, current, PurchaseOrderStatus.ISSUED)
    return await get_order(conn, order_id)


async def cancel_order(conn: asyncpg.Connection, tenant_id: UUID, order_id: UUID) -> dict:
    current = await lock_to_cancel(conn, order_id, _CAN_CANCEL)
    await advance(conn, tenant_id, current, PurchaseOrderStatus.CANCELLED)
    return await get_order(conn, order_id)


async def receive(
    conn: asyncpg.Connection, tenant_id: UUID, user_id: UUID, order_id: UUID, receipt: PurchaseReceiptCreate
) -> tuple[dict, dict]:
    """Receive some or all of an issued order; returns (the receipt, the order afterwards)."""
    order = await lock_order(conn, order_id, _CAN_RECEIVE, "received")
    refuse_erp_managed(order, "received")
    if not receipt.lines and order["status"] != PurchaseOrderStatus.PARTIALLY_RECEIVED:
        raise ConflictError(
            f"purchase order {order['number']} has received nothing: cancel it rather than write it all off",
            code="invalid_state",
        )
    lines = await locked_lines(conn, order_id)
    incoming, bases = check_receipt(order, lines, receipt)
    received_at = await received_when(conn, order, receipt.received_at)
    receipt_id = await conn.fetchval(
        """INSERT INTO app.purchase_receipts
               (tenant_id, purchase_order_id, reference, backorder_closed, received_at, created_by)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
        tenant_id,
        order_id,
        receipt.reference,
        receipt.close_backorder,
        received_at,
        user_id,
    )
    reference = f"{order['number']}" + (f" / {receipt.reference}" if receipt.reference else "")
    # Lock order: that of every stock write, not the request's (two receipts listing it oppositely deadlocked).
    await lock_levels(
        conn, tenant_id, [(lines[item.line_id]["product_id"], order["warehouse_id"]) for item in receipt.lines]
    )
    for item, quantity_base in zip(receipt.lines, bases, strict=True):
        line = lines[item.line_id]
        lot_id = await receipt_lot(conn, tenant_id, line, item.lot_number, item.expiry_date)
        entry = LedgerEntry(
            product_id=line["product_id"], warehouse_id=order["warehouse_id"], movement_type="receipt",
            quantity=quantity_base, reference=reference, created_by=user_id, occurred_at=received_at, lot_id=lot_id,
            label=f"{line['sku']} in the order's warehouse",
        )  # fmt: skip
        movement_id = (await insert_movement(conn, tenant_id, entry))["id"]
        await conn.execute(
            """INSERT INTO app.purchase_receipt_lines
                   (tenant_id, receipt_id, purchase_order_line_id, quantity, quantity_base, lot_id, movement_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            tenant_id,
            receipt_id,
            item.line_id,
            item.quantity,
            quantity_base,
            lot_id,
            movement_id,
        )
    await conn.executemany(
        "UPDATE app.purchase_order_lines SET received_base = received_base + $2, updated_at = now() WHERE id = $1",
        list(incoming.items()),
    )
    if receipt.close_backorder:
        await conn.execute(
            """UPDATE app.purchase_order_lines
               SET cancelled_base = greatest(quantity_base - received_base, 0), updated_at = now()
               WHERE purchase_order_id = $1""",
            order_id,
        )
    progress = await conn.fetchrow(  # received when its last goods came: a backdated receipt's time, not now
        """SELECT (SELECT count(*) FROM app.purchase_order_lines
                   WHERE purchase_order_id = $1 AND received_base + cancelled_base < quantity_base) AS outstanding,
                  (SELECT max(received_at) FROM app.purchase_receipts WHERE purchase_order_id = $1) AS last""",
        order_id,
    )
    assert progress is not None
    done = PurchaseOrderStatus.PARTIALLY_RECEIVED if progress["outstanding"] else PurchaseOrderStatus.RECEIVED
    await advance(conn, tenant_id, order, done, at=progress["last"])
    return await get_receipt(conn, receipt_id), await get_order(conn, order_id)


async def list_receipts(conn: asyncpg.Connection, order_id: UUID) -> list[dict]:
    await get_order(conn, order_id)  # 404 for an unknown (or another tenant's) order
    ids = await conn.fetch(
        "SELECT id FROM app.purchase_receipts WHERE purchase_order_id = $1 ORDER BY received_at, id", order_id
    )
    return [await get_receipt(conn, row["id"]) for row in ids]


def _unpriced(lines: Sequence[PurchaseOrderLineCreate]) -> set[UUID]:
    return {line.product_id for line in lines if line.unit_price is None}


async def _insert_line(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    order_id: UUID,
    line: PurchaseOrderLineCreate,
    total_before: Decimal,
    evidence: Mapping[UUID, PriceEvidence],
    *,
    where: str = "",
) -> Decimal:
    """Insert one line; returns its amount. ``total_before`` (the order's lines so far) bounds the order's total;
    a line without a price takes one from ``evidence`` (the order's currency and supplier)."""
    await refuse_inactive(conn, "product", line.product_id, where=where)
    uom, factor, base_uom = await conversion_factor(conn, line.product_id, line.uom)
    quantity_base = to_base(line.quantity, factor)
    if quantity_base <= 0:
        raise InvalidInputError(
            f"{where}{line.quantity:f} {uom} is below the ledger's precision once converted", code="too_small"
        )
    if quantity_base >= LARGEST_QUANTITY:
        raise InvalidInputError(
            f"{where}{line.quantity:f} {uom} is {quantity_base:f} {base_uom}, past the largest quantity kept "
            f"({LARGEST_QUANTITY:f})",
            code="too_large",
        )
    price = line.unit_price
    if price is None:
        found = evidence[line.product_id]  # conversion_factor above refused a product that is not there
        price = found.price_per(uom, factor, base_uom, where=where)
    if price >= LARGEST_PRICE:
        raise InvalidInputError(
            f"{where}the unit price of {price:f} per {uom} is past the largest price kept ({LARGEST_PRICE:f})",
            code="too_large",
        )
    amount = line.quantity * price
    if (listed := listed_total(total_before + amount)) >= LARGEST_QUANTITY:  # as the summaries view rounds it
        rounded = "" if listed == total_before + amount else f" ({listed:f} at four decimals)"
        raise InvalidInputError(
            f"{where}{line.quantity:f} {uom} at {price:f} brings the order's total to {total_before + amount:f}"
            f"{rounded}, past the largest amount kept ({LARGEST_QUANTITY:f})",
            code="too_large",
        )
    await conn.execute(
        """INSERT INTO app.purchase_order_lines
               (tenant_id, purchase_order_id, line_no, product_id, quantity, uom, uom_factor, quantity_base, unit_price)
           VALUES ($1, $2,
                   (SELECT coalesce(max(line_no), 0) + 1 FROM app.purchase_order_lines WHERE purchase_order_id = $2),
                   $3, $4, $5, $6, $7, $8)""",
        tenant_id,
        order_id,
        line.product_id,
        line.quantity,
        uom,
        factor,
        quantity_base,
        price,
    )
    return amount
