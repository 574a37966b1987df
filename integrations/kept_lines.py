"""Order lines an ERP gives up after goods were received on them: its product changed, or the line removed.

A line's receipts (the ERP's received quantity, and receipts recorded here before 2026-12-06) say which product
arrived; writing the ERP's new product over the line re-pointed them (stock and history disagreed), and deleting
it was refused by the receipts' foreign key. Such a line is kept, closed at what was received (its backorder
closed), under its own number, marked ``erp_given_up_at``: only lines not given up are unique by number (0162),
so the ERP's line, if it still has one there, is written as a line of its own beside it, and no sync touches the
kept line again (until 0162 it moved to a number from 2000000000 on, which buyers then read). A line the ERP moved
(Odoo numbers lines by position) is renumbered, so its row, receipts and stamps go with it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from integrations.order_lines import received_on

KIND = "erp_order_line_kept"


async def make_room(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    order: dict[str, Any],
    incoming: dict[int, UUID],
    earlier: dict[int, Any],
    stored: dict[int, Any],
) -> None:
    """Before the ERP's lines (``incoming``: number -> product) are written over the order's ``stored`` ones
    (``earlier``: each incoming line's stored self): keeps the lines given up that have receipts, and moves each
    stored line to the number the ERP now gives it."""
    mine = {row["id"]: no for no, row in earlier.items()}
    kept = [row for row in stored.values() if row["id"] not in mine and received_on(row) > 0]
    if kept:
        # Closed at what arrived: receipts here count where the ERP's figure (0 for goods it never saw) is less.
        await conn.execute(
            """UPDATE app.purchase_order_lines l
               SET erp_given_up_at = now(), received_base = k.received,
                   cancelled_base = greatest(l.quantity_base - k.received, 0), updated_at = now()
               FROM unnest($1::uuid[], $2::numeric[]) AS k(id, received) WHERE l.id = k.id""",
            [row["id"] for row in kept],
            [received_on(row) for row in kept],
        )
        for row in kept:
            # A number the ERP gave a line moved there holds that line, not a new product on the kept one's.
            now = incoming.get(row["line_no"]) if row["line_no"] not in earlier else None
            await _notify(conn, tenant_id, order, row, now)
    moving = [(row["id"], no) for no, row in earlier.items() if row["line_no"] != no]
    if not moving:
        return
    # A line given up without receipts that sits where one moves to goes now, as it would after the writes (a kept
    # one stays: it takes no number from a live line).
    await conn.execute(
        "DELETE FROM app.purchase_order_lines WHERE purchase_order_id = $1 AND line_no = ANY($2::int[])"
        " AND NOT (id = ANY($3::uuid[])) AND erp_given_up_at IS NULL",
        order["id"], [no for _, no in moving], list(mine),
    )  # fmt: skip
    # Through numbers above every one in use, as two lines may trade places (one statement checks each row).
    spare = max([*stored, *incoming]) + 1
    await conn.executemany(
        "UPDATE app.purchase_order_lines SET line_no = $2 WHERE id = $1",
        [(line_id, spare + n) for n, (line_id, _) in enumerate(moving)],
    )
    await conn.executemany("UPDATE app.purchase_order_lines SET line_no = $2 WHERE id = $1", moving)


async def keeps_receipts(conn: asyncpg.Connection, order_id: UUID) -> bool:
    """Whether a line kept after the ERP gave it up has goods received, by the ERP or by receipts here (the order
    is then partly received, whatever the ERP's own lines say)."""
    found: bool = await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM app.purchase_order_lines l
                          WHERE l.purchase_order_id = $1 AND l.erp_given_up_at IS NOT NULL
                            AND (l.received_base > 0 OR EXISTS (
                                SELECT 1 FROM app.purchase_receipt_lines r
                                WHERE r.tenant_id = l.tenant_id AND r.purchase_order_line_id = l.id)))""",
        order_id,
    )
    return found


async def _notify(conn: asyncpg.Connection, tenant_id: UUID, order: dict[str, Any], row: Any, now: UUID | None) -> None:
    products = await conn.fetch(
        "SELECT id, sku, unit_of_measure FROM app.products WHERE id = ANY($1::uuid[])",
        [row["product_id"], *([now] if now is not None else [])],
    )
    sku = {p["id"]: p["sku"] for p in products}
    unit = next(p["unit_of_measure"] for p in products if p["id"] == row["product_id"])
    received = received_on(row)
    has = f"which has {received.normalize():f} {unit} received; that line is kept here, closed at what was received"
    if now is None:
        title = f"{order['number']}: the ERP no longer has line {row['line_no']} ({sku[row['product_id']]}), {has}"
    else:
        title = (
            f"{order['number']}: the ERP no longer orders {sku[row['product_id']]} on line {row['line_no']} "
            f"(now {sku[now]}), {has}, and the ERP's line is a line of its own"
        )
    data = {
        "purchase_order_id": str(order["id"]),
        "number": order["number"],
        "line_no": row["line_no"],
        "product_id": str(row["product_id"]),
        "erp_product_id": str(now) if now is not None else None,
        "received_base": str(received),
    }
    await conn.execute(
        "INSERT INTO app.notifications (tenant_id, kind, title, data) VALUES ($1, $2, $3, $4)",
        tenant_id,
        KIND,
        title[:300],
        data,
    )
