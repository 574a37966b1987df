"""Applying ERP stock levels and purchase orders (see ``integrations.apply`` for the page around them).

Stock is brought to the ERP's figure by one ledger adjustment per level, so the ledger stays the only writer
of ``on_hand``. Purchase orders are upserted with their lines; their status moves through the same life cycle
as a user's actions (``inventory.purchasing_status``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
from pydantic import BaseModel

from common.errors import DomainError, InsufficientStockError
from integrations.cancelled_orders import refuse_open_for_cancelled
from integrations.errors import MappingError, RecordRejected
from integrations.external_ids import SyncScope, fingerprint, remember, require, warehouse
from integrations.kept_lines import keeps_receipts, make_room
from integrations.order_dates import date_erp_issue
from integrations.order_lines import lines_as_stored, stored_lines, write_lines
from integrations.records import Entity, PurchaseOrderRecord, PurchaseOrderStatus, StockRecord
from integrations.stock_lock_order import Placed, place, take_levels
from inventory import purchasing_status as lifecycle
from inventory.pricing import MAX_PRICE_ROUNDING, kept_unit_price, listed_total
from inventory.purchasing_receipts import to_base
from inventory.schemas import LARGEST_QUANTITY
from inventory.stock import LedgerEntry, insert_movement, release_expired
from inventory.uom import FACTOR_QUANTUM, conversion_factor

SharedLevel = tuple[str, dict[str, Decimal], RecordRejected | None]


async def apply_stock(
    conn: asyncpg.Connection, scope: SyncScope, model: BaseModel, known: Any, placed: Placed | None = None
) -> str:
    """``placed``: where the record lands, as ``in_level_order`` found it (resolved here without)."""
    assert isinstance(model, StockRecord)
    placed = placed or await place(conn, scope, model, known)
    product_id, warehouse_id = placed.product_id, placed.warehouse_id
    if placed.leaves is None:  # the level's expired holds, then the level (below): the one lock order
        await release_expired(conn, product_id, warehouse_id)
    else:  # and the level it leaves in its turn, before either is settled; the new one made where it gets stock
        made = [(product_id, warehouse_id)] if model.quantity != 0 else []
        await take_levels(conn, scope.tenant_id, [(product_id, warehouse_id), placed.leaves], made)
    level = await conn.fetchrow(
        "SELECT id, on_hand FROM app.stock_levels WHERE product_id = $1 AND warehouse_id = $2 FOR UPDATE",
        product_id,
        warehouse_id,
    )
    outcome = "unchanged"
    # A level others of the connector's records land on too (two SAP plants on one warehouse) goes to their sum once
    # the snapshot is in (settle_shared_levels): a step per record aimed at sums of new and stale figures.
    shared = level is not None and await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM app.integration_external_ids WHERE connector_id = $1 AND entity = $2"
        " AND local_id = $3 AND external_id <> $4)",
        scope.connector_id, Entity.STOCK.value, level["id"], model.external_id,
    )  # fmt: skip
    change = Decimal(0) if shared else model.quantity - (level["on_hand"] if level else Decimal(0))
    if change != 0:
        try:
            await _adjust(conn, scope, model.external_id, product_id, warehouse_id, change, "ERP stock sync")
        except InsufficientStockError as exc:
            raise RecordRejected(
                f"the ERP's on hand ({model.quantity:f}) is below what Chainsight has reserved for this level"
            ) from exc
        outcome = "created" if level is None else "updated"
    level_id = (
        level["id"]
        if level
        else await conn.fetchval(
            "SELECT id FROM app.stock_levels WHERE product_id = $1 AND warehouse_id = $2", product_id, warehouse_id
        )
    )
    if known is not None and known[0] != level_id:
        # The record now lands on another level (its warehouse mapped anew): the one it set before keeps what the
        # connector's other records there report, as when a record is gone from the snapshot.
        try:
            if await settle_level(conn, scope, model.external_id, known[0], [model.external_id]) == "updated":
                outcome = "updated"
        except RecordRejected as exc:  # kept, and tried again with the next snapshot, as a gone record is
            raise RecordRejected(f"its warehouse now maps to another; the one it left: {exc.message}") from exc
    if level_id is None:  # 0 where no level is: nothing to remember
        await conn.execute(
            "DELETE FROM app.integration_external_ids WHERE connector_id = $1 AND entity = $2 AND external_id = $3",
            scope.connector_id, Entity.STOCK.value, model.external_id,
        )  # fmt: skip
    elif known is None or known[0] != level_id or known[2] != model.quantity:
        # Remembered with its quantity: the level's sum counts it, and a snapshot without it takes it away.
        await remember(conn, scope, Entity.STOCK, model.external_id, level_id, None, quantity=model.quantity)
    return outcome


async def settle_level(
    conn: asyncpg.Connection, scope: SyncScope, external_id: str, level_id: UUID, leaving: list[str]
) -> str:
    """A level that stock records ``leaving`` set, which no longer do (gone from the ERP's snapshot, as Odoo deletes
    an emptied quant, or mapped to another warehouse): its on hand goes to what the connector's other records on it
    last reported, 0 without any, by a ledger adjustment as any other."""
    level = await conn.fetchrow(
        "SELECT product_id, warehouse_id, on_hand FROM app.stock_levels WHERE id = $1 FOR UPDATE", level_id
    )
    if level is None:
        return "unchanged"
    target = await _reported_on(conn, scope, level_id, leaving)
    if level["on_hand"] == target:
        return "unchanged"
    reason = "ERP stock sync: no longer in the ERP's stock"
    try:
        await _adjust(
            conn, scope, external_id, level["product_id"], level["warehouse_id"], target - level["on_hand"], reason
        )
    except InsufficientStockError as exc:
        raise RecordRejected(
            f"the ERP no longer reports stock for this level ({target:f} on hand) while Chainsight has some of it "
            "reserved"
        ) from exc
    return "updated"


async def settle_shared_levels(conn: asyncpg.Connection, scope: SyncScope) -> list[SharedLevel]:
    """Once the snapshot is in, a level several of the connector's records share goes to their sum in one step;
    a refused level is dead-lettered under its records' ids joined, and resolved here once it is at its sum."""
    rows = await conn.fetch(
        """SELECT l.product_id, l.warehouse_id, l.on_hand, x.ids, x.quantities, x.total FROM app.stock_levels l
           JOIN (SELECT local_id, array_agg(external_id ORDER BY external_id) AS ids,
                        array_agg(coalesce(quantity, 0) ORDER BY external_id) AS quantities,
                        coalesce(sum(quantity), 0) AS total
                 FROM app.integration_external_ids WHERE connector_id = $1 AND entity = $2
                 GROUP BY local_id HAVING count(*) > 1) x ON x.local_id = l.id
           WHERE l.on_hand <> x.total ORDER BY l.product_id, l.warehouse_id FOR UPDATE OF l""",
        scope.connector_id, Entity.STOCK.value,
    )  # fmt: skip
    settled: list[SharedLevel] = []
    for row in rows:
        records, target, refused = dict(zip(row["ids"], row["quantities"], strict=True)), row["total"], None
        key, change = "+".join(records), target - row["on_hand"]
        try:
            async with conn.transaction():  # a savepoint: a refused level leaves the others to settle
                await _adjust(conn, scope, key, row["product_id"], row["warehouse_id"], change, "ERP stock sync")
        except DomainError as exc:  # a hold it would cut into, or a sum past the largest quantity kept
            why = "is below what is reserved here" if isinstance(exc, InsufficientStockError) else f"is refused: {exc}"
            refused = RecordRejected(f"the ERP's on hand ({target:f}, its records' sum) {why}")
        settled.append((key, records, refused))
    await conn.execute(
        """UPDATE app.integration_dead_letters SET resolved_at = now() WHERE connector_id = $1 AND entity = $2
             AND resolved_at IS NULL AND payload ? 'level_records' AND NOT (external_id = ANY($3::text[]))""",
        scope.connector_id, Entity.STOCK.value, [key[:200] for key, _, refused in settled if refused is not None],
    )  # fmt: skip
    return settled


async def _reported_on(conn: asyncpg.Connection, scope: SyncScope, level_id: UUID, leaving: list[str]) -> Decimal:
    """What the connector's stock records on the level last reported, those ``leaving`` left out (a record mapped
    there before 2026-12-07 counts once the next snapshot has brought its quantity)."""
    total: Decimal = await conn.fetchval(
        """SELECT coalesce(sum(quantity), 0) FROM app.integration_external_ids
           WHERE connector_id = $1 AND entity = $2 AND local_id = $3 AND NOT (external_id = ANY($4::text[]))""",
        scope.connector_id,
        Entity.STOCK.value,
        level_id,
        leaving,
    )
    return total


async def _adjust(
    conn: asyncpg.Connection,
    scope: SyncScope,
    external_id: str,
    product_id: UUID,
    warehouse_id: UUID,
    change: Decimal,
    reason: str,
) -> None:
    """One ledger adjustment of the level by ``change``; raises InsufficientStockError below its reservations. The
    level is taken already, its holds past their expiry released first (``take_levels``): they give their stock back
    before any issue, and released here, once the level is locked, they made a cycle with the release job."""
    entry = LedgerEntry(
        product_id=product_id, warehouse_id=warehouse_id, movement_type="adjustment", quantity=change,
        reference=f"{scope.origin}:{external_id}"[:200], reason=reason,
    )  # fmt: skip
    await insert_movement(conn, scope.tenant_id, entry)


async def apply_purchase_order(conn: asyncpg.Connection, scope: SyncScope, model: BaseModel, known: Any) -> str:
    assert isinstance(model, PurchaseOrderRecord)
    supplier_id = await require(conn, scope, Entity.SUPPLIERS, model.supplier_external_id)
    warehouse_id = await warehouse(conn, scope, model.warehouse_external_id, model.warehouse_code)
    currency = scope.mapping.currency(model.currency)
    ordered = sorted(model.lines, key=lambda x: x.line_no)
    product_ids = [await require(conn, scope, Entity.PRODUCTS, line.product_external_id) for line in ordered]
    packaging = await _packaging_units(conn, product_ids)
    pushed = None
    if known is None and model.chainsight_number is not None:
        pushed = await _pushed_order(conn, scope, model.chainsight_number, supplier_id)
    existing_id = known[0] if known is not None else pushed["id"] if pushed is not None else None
    if not model.lines and existing_id is None:  # cancelled, or a draft, with no line: never ordered, nothing to keep
        return "unchanged"
    if not model.lines and model.status is PurchaseOrderStatus.DRAFT:
        # A draft whose lines are at 0 while it is edited keeps its lines here, and says so (announced once): left
        # quiet, its old quantities went on counting as incoming for as long as the ERP kept it empty.
        raise RecordRejected("the ERP's draft has no line with a quantity; its lines here are kept as they were")
    stored = await stored_lines(conn, existing_id) if existing_id is not None else {}
    numbered = [(line.line_no, product_id) for line, product_id in zip(ordered, product_ids, strict=True)]
    earlier = lines_as_stored(numbered, stored, {line.line_no: line.received_quantity for line in ordered})
    lines = []
    # Whether the ERP reports the line's closures (SAP, NetSuite: 0 when it is open); Odoo and Business Central do not.
    reported_closures = ["cancelled_quantity" in line.model_fields_set for line in ordered]
    total = Decimal(0)  # the lines' amounts as their columns keep them, which the order summaries add up
    for line, product_id in zip(ordered, product_ids, strict=True):
        before = earlier.get(line.line_no)
        # A line already here in the same product keeps its unit even once that is no longer a packaging unit of
        # the product, as a line written through the API does (``inventory.uom.delete_conversion``).
        kept = {before["uom"]} if before is not None and before["product_id"] == product_id else set()
        try:
            # A line may be in a unit the sync's shared set lacks: its product's packaging unit (a box of 50).
            unit = scope.mapping.unit(line.uom, scope.units, packaging.get(product_id, frozenset()) | kept)
        except MappingError as exc:
            where = f"line {line.line_no} ({line.product_external_id}, product {product_id})"
            raise MappingError(f"{where}: {exc}") from exc
        if before is not None and unit in kept:
            # And the factor it was written with: receipts convert by it, and today's (a box now of 40) would
            # restate what was ordered and received and the price per product unit.
            factor = before["uom_factor"]
        else:
            unit, factor, _ = await conversion_factor(conn, product_id, unit)
            # At the scale the line stores it, so the next sync's digest, from the stored factor, is the same.
            factor = factor.quantize(FACTOR_QUANTUM)
        price = kept_unit_price(line.unit_price)
        if price is None:  # until 2026-12-07 rounded by PostgreSQL: 0.85 per 1000 as 0.0009
            raise RecordRejected(
                f"line {line.line_no} ({line.product_external_id}): its price per {line.uom}, "
                f"{line.unit_price.normalize():f}, is finer than the four decimals a unit price keeps (more than "
                f"{MAX_PRICE_ROUNDING:.1%} of it would be lost): order it in a larger unit in the ERP"
            )
        total += to_base(line.quantity, Decimal(1)) * price
        if listed_total(total) >= LARGEST_QUANTITY:  # else the summaries fail for every order of the tenant
            raise RecordRejected(
                f"line {line.line_no} ({line.product_external_id}) brings the order's total to "
                f"{total.normalize():f}, past the largest amount kept ({LARGEST_QUANTITY:f}): split it in the ERP"
            )
        lines.append(
            {
                "line_no": line.line_no,
                "product_id": product_id,
                "quantity": line.quantity,
                "uom": unit,
                "uom_factor": factor,
                "quantity_base": to_base(line.quantity, factor),
                "unit_price": line.unit_price,
                "received_base": to_base(line.received_quantity, factor),
                "cancelled_base": to_base(line.cancelled_quantity, factor),
            }
        )
    if len({line["line_no"] for line in lines}) != len(lines):
        raise RecordRejected("two lines share one line number")
    header = {
        "number": model.number,
        "supplier_id": supplier_id,
        "warehouse_id": warehouse_id,
        "currency": currency,
        "expected_date": model.expected_date,
    }
    digest = fingerprint({**header, "status": model.status.value, "lines": lines})
    if known is not None and known[1] == digest:  # dated all the same: orders recorded before the ERP's dates
        await date_erp_issue(conn, known[0], model, scope.origin)
        return "unchanged"
    order = pushed
    if known is not None:
        order = await conn.fetchrow(
            "SELECT id, number, status FROM app.purchase_orders WHERE id = $1 FOR UPDATE", known[0]
        )
    if order is None:
        # A new order, not a change: like one created through the API it announces nothing, whatever status
        # the ERP already has it in (an initial sync of years of orders would otherwise flood every listener).
        stamps = lifecycle.stamps_on_arrival(model.status)
        order_id = await conn.fetchval(
            f"""INSERT INTO app.purchase_orders
                    (tenant_id, number, supplier_id, warehouse_id, currency, expected_date, status, origin
                     {"".join(", " + column for column in stamps)})
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8{", now()" * len(stamps)}) RETURNING id""",
            scope.tenant_id,
            *header.values(),
            model.status.value,
            scope.origin,
        )
        await write_lines(conn, scope.tenant_id, order_id, lines, reported_closures)
        outcome = "created"
    else:
        await refuse_open_for_cancelled(conn, order, model)  # linked, not reopened; the buyer cancels it in the ERP too
        order_id = order["id"]
        # The same transition, timestamps and events as a user's action; an illegal move is dead-lettered. An ERP's
        # draft never takes an order back: one issued here and pushed is a draft there until the ERP confirms it
        # (the sync then dead-lettered it: "is issued and cannot become draft").
        target = lifecycle.Status(order["status"]) if model.status is lifecycle.Status.DRAFT else model.status
        # The lines before the header and status: the low-stock alert on lines (0135) weighs those of open orders at
        # the order's warehouse, where and while it expected them (until 2026-12-07 an order made received first
        # took the incoming of the backorder closed with it unseen).
        if lines:  # a cancelled order whose every line the ERP gave up keeps them as they were, as a cancel here
            await make_room(conn, scope.tenant_id, dict(order), dict(numbered), earlier, stored)
            await write_lines(conn, scope.tenant_id, order_id, lines, reported_closures)
        if target is lifecycle.Status.ISSUED and await keeps_receipts(conn, order_id):
            target = lifecycle.Status.PARTIALLY_RECEIVED  # goods came on a line the ERP gave up
        # The number stays: an order pushed from Chainsight keeps its own number once the ERP reports it back.
        changes = {k: v for k, v in header.items() if k != "number"}
        assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(changes, start=2))
        await conn.execute(
            f"UPDATE app.purchase_orders SET {assignments}, updated_at = now() WHERE id = $1",
            order_id,
            *changes.values(),
        )
        await lifecycle.advance(conn, scope.tenant_id, dict(order), target, source=scope.origin)
        outcome = "updated"
    await date_erp_issue(conn, order_id, model, scope.origin)
    await remember(conn, scope, Entity.PURCHASE_ORDERS, model.external_id, order_id, digest)
    return outcome


async def _packaging_units(conn: asyncpg.Connection, product_ids: list[UUID]) -> dict[UUID, frozenset[str]]:
    """The packaging units recorded for each product (``PUT /products/{id}/uom-conversions/{unit}``)."""
    rows = await conn.fetch(
        "SELECT product_id, uom FROM app.product_uom_conversions WHERE product_id = ANY($1::uuid[])", product_ids
    )
    units: dict[UUID, set[str]] = {}
    for row in rows:
        units.setdefault(row["product_id"], set()).add(row["uom"])
    return {product_id: frozenset(found) for product_id, found in units.items()}


async def _pushed_order(
    conn: asyncpg.Connection, scope: SyncScope, number: str, supplier_id: UUID
) -> asyncpg.Record | None:
    """The Chainsight order an unknown ERP order was pushed from: a push whose answer was lost (the ERP made the
    order, its id never came back) leaves it unlinked, and importing it would make a second order here."""
    found: asyncpg.Record | None = await conn.fetchrow(
        """SELECT po.id, po.number, po.status FROM app.purchase_orders po
           WHERE po.number = $1 AND po.supplier_id = $2 AND coalesce(po.origin, '') NOT LIKE 'erp:%'
             AND NOT EXISTS (SELECT 1 FROM app.integration_external_ids x
                             WHERE x.connector_id = $3 AND x.entity = $4 AND x.local_id = po.id)
           FOR UPDATE OF po""",
        number,
        supplier_id,
        scope.connector_id,
        Entity.PURCHASE_ORDERS.value,
    )
    return found
