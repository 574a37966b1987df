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
    given_up = [row for row in stored.values() if row["id"] not in mine]
    here = await _received_here(conn, tenant_id, [row["id"] for row in given_up])
    kept = [row for row in given_up if row["received_base"] > 0 or row["id"] in here]
    if kept:
        await conn.execute(
            """UPDATE app.purchase_order_lines
               SET erp_given_up_at = now(), cancelled_base = greatest(quantity_base - received_base, 0),
                   updated_at = now()
               WHERE id = ANY($1::uuid[])""",
            [row["id"] for row in kept],
        )
        for row in kept:
            await _notify(conn, tenant_id, order, row, incoming.get(row["line_no"]), here.get(row["id"]))
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
    """Whether a line kept after the ERP gave it up has goods received (the order is then partly received,
    whatever the ERP's own lines say)."""
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM app.purchase_order_lines WHERE purchase_order_id = $1"
        " AND erp_given_up_at IS NOT NULL AND received_base > 0)",
        order_id,
    )
    return found


async def _received_here(conn: asyncpg.Connection, tenant_id: UUID, line_ids: list[UUID]) -> dict[UUID, Any]:
    """What receipts recorded here brought on each of the lines (those with any)."""
    if not line_ids:
        return {}
    # The tenant too: the index on the receipts' order lines (0162) leads with it.
    rows = await conn.fetch(
        """SELECT purchase_order_line_id AS id, sum(quantity_base) AS quantity FROM app.purchase_receipt_lines
           WHERE tenant_id = $1 AND purchase_order_line_id = ANY($2::uuid[]) GROUP BY purchase_order_line_id""",
        tenant_id,
        line_ids,
    )
    return {row["id"]: row["quantity"] for row in rows}


async def _notify(
    conn: asyncpg.Connection, tenant_id: UUID, order: dict[str, Any], row: Any, now: UUID | None, here: Any
) -> None:
    products = await conn.fetch(
        "SELECT id, sku, unit_of_measure FROM app.products WHERE id = ANY($1::uuid[])",
        [row["product_id"], *([now] if now is not None else [])],
    )
    sku = {p["id"]: p["sku"] for p in products}
    unit = next(p["unit_of_measure"] for p in products if p["id"] == row["product_id"])
    received = max(row["received_base"], here or 0)
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
