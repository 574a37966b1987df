"""Writing an ERP purchase order's lines onto the order here, and finding each one's stored self (see
``integrations.apply_orders`` for the order)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from inventory.purchasing_receipts import to_base

# The columns of a line as ``apply_orders`` builds it, in the order the upsert takes them.
_COLUMNS = (
    ("line_no", "int"),
    ("product_id", "uuid"),
    ("quantity", "numeric"),
    ("uom", "text"),
    ("uom_factor", "numeric"),
    ("quantity_base", "numeric"),
    ("unit_price", "numeric"),
    ("received_base", "numeric"),
    ("cancelled_base", "numeric"),
)


async def write_lines(
    conn: asyncpg.Connection, tenant_id: UUID, order_id: UUID, lines: list[dict[str, Any]], reported: list[bool]
) -> None:
    """Upserts the order's lines (``reported``: whether the ERP reports each one's closures) and deletes the
    stored lines it no longer has (``integrations.kept_lines.make_room`` has kept those with receipts, marked
    ``erp_given_up_at``: they keep their numbers beside the ERP's lines, and no sync touches them again).

    The upsert is one statement, so the lost-incoming alert on lines (0135, 0147) weighs its updated lines together:
    where two items trade materials, what one takes from a product the other brings back (with a statement per
    line, the product was weighed in between, holding both or neither)."""
    arrays = [f"${i}::{kind}[]" for i, (_, kind) in enumerate(_COLUMNS, start=3)]
    await conn.execute(
        f"""INSERT INTO app.purchase_order_lines
                (tenant_id, purchase_order_id, {", ".join(column for column, _ in _COLUMNS)})
            SELECT $1, $2, l.* FROM unnest({", ".join(arrays)}) AS l
            ON CONFLICT (purchase_order_id, line_no) WHERE erp_given_up_at IS NULL DO UPDATE
            SET product_id = EXCLUDED.product_id, quantity = EXCLUDED.quantity, uom = EXCLUDED.uom,
                uom_factor = EXCLUDED.uom_factor, quantity_base = EXCLUDED.quantity_base,
                unit_price = EXCLUDED.unit_price, received_base = EXCLUDED.received_base,
                -- The ERP holds the receipt; that it happened since the last sync is what is known here: the last
                -- (the delivery history's date, 0136) and the first, set once (the lead time's start, 0144), only
                -- when this sync finds the first of it: a line that came already received has no known first
                -- receipt, and a later sync's time would be a lead time of the order's whole age. The stamp also
                -- tells the low-stock alert that the receipt's stock came with the stock sync (0146).
                erp_received_at = CASE WHEN EXCLUDED.received_base > app.purchase_order_lines.received_base
                                       THEN now() ELSE app.purchase_order_lines.erp_received_at END,
                erp_first_received_at = coalesce(app.purchase_order_lines.erp_first_received_at,
                    CASE WHEN app.purchase_order_lines.received_base = 0 AND EXCLUDED.received_base > 0
                         THEN now() END),
                -- What an ERP that reports closures says, a line it reopened included; from one that reports none,
                -- a backorder closed in Chainsight stays closed.
                cancelled_base = CASE WHEN ($12::bool[])[array_position($3::int[], EXCLUDED.line_no)]
                                      THEN EXCLUDED.cancelled_base ELSE app.purchase_order_lines.cancelled_base END,
                updated_at = now()""",
        tenant_id,
        order_id,
        *([line[column] for line in lines] for column, _ in _COLUMNS),
        reported,
    )
    await conn.execute(
        "DELETE FROM app.purchase_order_lines WHERE purchase_order_id = $1 AND NOT (line_no = ANY($2::int[]))"
        " AND erp_given_up_at IS NULL",
        order_id,
        [line["line_no"] for line in lines],
    )


def lines_as_stored(
    incoming: list[tuple[int, UUID]], stored: dict[int, Any], received: dict[int, Decimal]
) -> dict[int, Any]:
    """Each incoming line's stored self, by its number where the product is the same, else the first stored line
    of its product left over: Odoo numbers lines by position (SAP and Business Central too where their item
    positions are uneven, ``integrations.records.line_numbers``), so a line added above or removed before shifts
    the rest, and a shifted line is still the line it was (its unit and factor kept). A stored line serves once.

    ``received``: what the ERP reports received on each incoming line, in its unit. A stored line the ERP reported
    received is not taken for a line of another number that reports less: that is a new line of the product (the
    product of a received line changed, and re-added further down), and writing its figure over the row lost the
    goods."""
    found = {no: stored[no] for no, product in incoming if no in stored and stored[no]["product_id"] == product}
    left = [row for no, row in sorted(stored.items()) if all(kept is not row for kept in found.values())]
    for no, product in incoming:
        if no not in found:
            match = next((row for row in left if row["product_id"] == product and _holds(row, received[no])), None)
            if match is not None:
                found[no] = match
                left.remove(match)
    return found


def received_on(row: Any) -> Decimal:
    """What a stored line has received: the ERP's figure, or the receipts recorded here where they are more (the
    ERP never saw those; its syncs wrote its own figure over the line's)."""
    return max(row["received_base"], row["received_here"])


def _holds(row: Any, received: Decimal) -> bool:
    """Whether an incoming line reporting ``received`` can be the stored ``row``: it reports all the ERP had
    reported received on the row (in the row's factor, the one the line keeps while its unit stays). Receipts made
    here are left out: the ERP never reports them, so a line received only here that moves up is still the line."""
    has = row["received_base"]
    return has == 0 or to_base(received, row["uom_factor"]) >= has


async def stored_lines(conn: asyncpg.Connection, order_id: UUID) -> dict[int, asyncpg.Record]:
    """The order's lines as stored, by line number: their product, unit, the factor they were written with, what
    the ERP reported received and what receipts here brought (the tenant too: the receipts' index, 0162, leads with
    it); lines kept after the ERP gave them up are not among them."""
    rows = await conn.fetch(
        """SELECT l.id, l.line_no, l.product_id, l.uom, l.uom_factor, l.received_base,
                  (SELECT coalesce(sum(r.quantity_base), 0) FROM app.purchase_receipt_lines r
                   WHERE r.tenant_id = l.tenant_id AND r.purchase_order_line_id = l.id) AS received_here
           FROM app.purchase_order_lines l WHERE l.purchase_order_id = $1 AND l.erp_given_up_at IS NULL""",
        order_id,
    )
    return {row["line_no"]: row for row in rows}
