"""What an inventory policy may tell a planner to order at one location: the supplier and its lead time, and
whether the location is still bought for at all.

Reorder proposals, rules and drafts treat a deactivated product, warehouse or supplier as "do not buy"; a stock
policy reads the same flags, so it never answers "order 828 now" for what the tenant stopped using.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from common.errors import InvalidInputError, NotFoundError
from training.supplier_history import SupplierHistory, product_supplier_lead_time, scoped_supplier_history


@dataclass(frozen=True)
class OrderingTerms:
    supplier_id: UUID | None
    rule_lead_days: float | None
    supplier: SupplierHistory | None
    not_ordered_because: str | None  # a deactivated product or warehouse: the policy is shown, nothing is ordered
    rule_order_multiple: float | None
    unit_of_measure: str | None
    unit_category: str | None = None  # app.units_of_measure's; None: a code the shared catalogue lacks
    unit_ratio: float | None = None


async def ordering_terms(
    conn: asyncpg.Connection, product_id: UUID, warehouse_id: UUID, named_supplier: UUID | None, now: datetime
) -> OrderingTerms:
    """The supplier (named, else the active rule's, else the latest order's from an active supplier) and its lead
    time; a named supplier that is deactivated is refused (400 ``inactive_supplier``) as a new order naming it is."""
    rule_supplier, rule_lead = await product_supplier_lead_time(conn, product_id, warehouse_id)
    supplier_id = named_supplier or rule_supplier
    if supplier_id != rule_supplier:  # the rule's days are its own supplier's, not another named one's
        rule_lead = None
    # A supplier's lead time differs by lane: this location's own orders when they hold enough receipts.
    supplier = (
        await scoped_supplier_history(conn, supplier_id, warehouse_id=warehouse_id, product_id=product_id, now=now)
        if supplier_id
        else None
    )
    if named_supplier is not None:
        if supplier is None:
            raise NotFoundError(f"no supplier {named_supplier}", code="unknown_supplier")
        await _refuse_inactive_supplier(conn, named_supplier)
    location = await conn.fetchrow(
        """SELECT p.sku, p.active AS product_active, p.unit_of_measure, w.code, w.active AS warehouse_active,
                  u.category AS unit_category, u.ratio AS unit_ratio,
                  (SELECT r.order_multiple FROM app.reorder_rules r
                    WHERE r.product_id = p.id AND r.warehouse_id = w.id AND r.active) AS order_multiple
             FROM app.products p CROSS JOIN app.warehouses w
             LEFT JOIN app.units_of_measure u ON u.code = p.unit_of_measure
            WHERE p.id = $1 AND w.id = $2""",
        product_id,
        warehouse_id,
    )
    if location is None:  # require_location has named the unknown one already
        return OrderingTerms(supplier_id, rule_lead, supplier, None, None, None)
    multiple = location["order_multiple"]
    return OrderingTerms(
        supplier_id,
        rule_lead,
        supplier,
        _inactive_location(location),
        float(multiple) if multiple is not None else None,
        location["unit_of_measure"],
        location["unit_category"],
        float(location["unit_ratio"]) if location["unit_ratio"] is not None else None,
    )


async def _refuse_inactive_supplier(conn: asyncpg.Connection, supplier_id: UUID) -> None:
    row = await conn.fetchrow("SELECT code, active FROM app.suppliers WHERE id = $1", supplier_id)
    if row is not None and not row["active"]:
        raise InvalidInputError(
            f"supplier {row['code']} is inactive: nothing is ordered from it; reactivate it or name another",
            code="inactive_supplier",
        )


def _inactive_location(row: asyncpg.Record) -> str | None:
    inactive = [
        f"{kind} {label} is inactive"
        for kind, label, active in (
            ("product", row["sku"], row["product_active"]),
            ("warehouse", row["code"], row["warehouse_active"]),
        )
        if not active
    ]
    if not inactive:
        return None
    return " and ".join(inactive) + ": nothing is ordered for it (reorder proposals skip it too); reactivate to order"


def withhold_order(result: dict[str, Any], terms: OrderingTerms) -> dict[str, Any]:
    """``result`` with ``order_now`` 0 and the reason in ``order_now_note`` where the location is not bought for."""
    if terms.not_ordered_because is None:
        return {**result, "order_now_note": None}
    return {**result, "order_now": 0.0, "order_now_note": terms.not_ordered_because}
