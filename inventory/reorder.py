"""Reorder rules and the purchase proposals they produce (Odoo's min/max orderpoints, ERPNext's reorder levels).

Projected stock = on hand + incoming - reserved, where incoming is what open purchase orders still
bring to the rule's warehouse (drafts included, as Odoo counts RFQs "in progress", so running the
proposals twice never orders twice). A rule fires when projected < min and orders
max(min, max) - projected, rounded up as the inventory policy rounds (``inventory.order_rounding``): to the order
multiple, and for a product counted in a count unit to whole items (before 2026-12-08 a proposal for a product in
``each`` without a multiple could order 12.37 of it).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from common.database import lock_until_commit
from common.errors import InvalidInputError, NotFoundError
from inventory import members, pricing, purchasing
from inventory.listing import Listing, ListQuery, Page
from inventory.order_rounding import exact_order_step, round_up
from inventory.purchasing_schemas import (
    MAX_ORDER_LINES,
    PurchaseOrderCreate,
    PurchaseOrderLineCreate,
    ReorderRuleCreate,
    ReorderRuleUpdate,
)
from inventory.records import refuse_inactive, row_or_missing, unknown_reference, write_refusals
from inventory.schemas import DEFAULT_CURRENCY, LARGEST_PRICE, LARGEST_QUANTITY

RULE_COLUMNS = (
    "id, product_id, warehouse_id, supplier_id, min_quantity, max_quantity, order_multiple, lead_time_days, "
    "active, created_at, updated_at"
)

RULES = Listing(
    table="app.reorder_rules",
    columns=tuple(c.strip() for c in RULE_COLUMNS.split(",")),
    sortable={"created_at": datetime, "updated_at": datetime},
    default_sort="created_at",
    equality_filters={"product_id": "uuid", "warehouse_id": "uuid", "supplier_id": "uuid", "active": "boolean"},
)

PROPOSAL_FILTERS = ("product_id", "warehouse_id", "supplier_id")


def proposed_quantity(
    min_quantity: Decimal,
    max_quantity: Decimal,
    order_multiple: Decimal,
    projected: Decimal,
    unit_of_measure: str | None = None,
    unit_category: str | None = None,
    unit_ratio: Decimal | None = None,
) -> Decimal:
    """What to order for one rule: 0 unless projected < min; else max(min, max) - projected, rounded up to the
    order multiple and to whole items of a count unit (the product's unit and the catalogue's category and ratio
    for it, as ``order_rounding.exact_order_step`` takes them; no unit: the multiple alone)."""
    if projected >= min_quantity:
        return Decimal(0)
    step = exact_order_step(order_multiple, unit_of_measure, unit_category, unit_ratio)
    return round_up(max(min_quantity, max_quantity) - projected, step)


async def create_rule(conn: asyncpg.Connection, tenant_id: UUID, data: ReorderRuleCreate) -> dict:
    values = data.model_dump()
    names = list(values)
    placeholders = ", ".join(f"${i}" for i in range(2, len(names) + 2))
    with write_refusals(
        f"product {data.product_id} already has a reorder rule in warehouse {data.warehouse_id}",
        {kind: values.get(f"{kind}_id") for kind in ("product", "warehouse", "supplier")},
    ):
        row = await conn.fetchrow(
            f"INSERT INTO app.reorder_rules (tenant_id, {', '.join(names)}) VALUES ($1, {placeholders}) "
            f"RETURNING {RULE_COLUMNS}",
            tenant_id,
            *values.values(),
        )
    assert row is not None
    return await _checked(conn, dict(row))


async def get_rule(conn: asyncpg.Connection, rule_id: UUID) -> dict:
    return await row_or_missing(
        conn, f"SELECT {RULE_COLUMNS} FROM app.reorder_rules WHERE id = $1", rule_id, what="reorder rule"
    )


async def update_rule(conn: asyncpg.Connection, rule_id: UUID, changes: ReorderRuleUpdate) -> dict:
    values: dict[str, Any] = changes.model_dump(exclude_unset=True)
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(values, start=2))
    try:
        row = await conn.fetchrow(
            f"UPDATE app.reorder_rules SET {assignments}, updated_at = now() WHERE id = $1 RETURNING {RULE_COLUMNS}",
            rule_id,
            *values.values(),
        )
    except asyncpg.ForeignKeyViolationError as exc:
        raise unknown_reference(
            exc, {kind: values.get(f"{kind}_id") for kind in ("product", "warehouse", "supplier")}
        ) from exc
    if row is None:
        raise NotFoundError(f"reorder rule {rule_id} not found")
    return await _checked(conn, dict(row))


async def _checked(conn: asyncpg.Connection, rule: dict) -> dict:
    """The rule as written, or a refusal that rolls the write back: an active rule for a deactivated product,
    warehouse or supplier would raise low-stock notifications for what the tenant stopped using."""
    if rule["active"]:
        for kind in ("product", "warehouse", "supplier"):
            if rule[f"{kind}_id"] is not None:
                await refuse_inactive(conn, kind, rule[f"{kind}_id"], where="the rule's ", lock=True)
    return await _within_what_orders_keep(conn, rule)


async def _within_what_orders_keep(conn: asyncpg.Connection, rule: dict) -> dict:
    """The rule as written, or a refusal (which rolls the write back) when its proposal, rounded up as proposals
    round (to the order multiple, and to whole items of the product's count unit), could pass the largest quantity
    an order line keeps. Until 2026-12-08 only the multiple was added: a rule up to 99999999999999.5 of a product
    in ``each`` without one was taken, and its proposal of 10^14 refused every proposal of the tenant."""
    unit = await conn.fetchrow(
        """SELECT p.unit_of_measure, u.category, u.ratio FROM app.products p
             LEFT JOIN app.units_of_measure u ON u.code = p.unit_of_measure
            WHERE p.id = $1""",
        rule["product_id"],
    )
    step = exact_order_step(
        rule["order_multiple"], *((unit["unit_of_measure"], unit["category"], unit["ratio"]) if unit else ())
    ) or Decimal(0)
    reach = max(rule["min_quantity"], rule["max_quantity"]) + step
    if reach >= LARGEST_QUANTITY:
        raise InvalidInputError(
            f"max(min_quantity, max_quantity) + the step a proposal rounds up to ({step.normalize():f}) is "
            f"{reach:f}: a proposal could pass the largest quantity kept ({LARGEST_QUANTITY:f})",
            code="too_large",
        )
    return rule


async def delete_rule(conn: asyncpg.Connection, rule_id: UUID) -> None:
    if await conn.execute("DELETE FROM app.reorder_rules WHERE id = $1", rule_id) == "DELETE 0":
        raise NotFoundError(f"reorder rule {rule_id} not found")


async def list_rules(conn: asyncpg.Connection, query: ListQuery) -> Page:
    sql, params = RULES.build(query)
    return RULES.page(await conn.fetch(sql, *params), query)


async def proposals(conn: asyncpg.Connection, filters: dict[str, UUID], today: date) -> list[dict]:
    """One proposal per active rule whose projected stock is below its minimum, and whose product, warehouse and
    supplier are active (a discontinued product or a supplier the tenant stopped using gets no proposal); each
    expected to arrive its lead time (the rule's, else the supplier's) after the receiving warehouse's current date
    (``today``, the caller's date, where the warehouse's time zone is not known). Where neither gives a lead time,
    ``lead_time_days`` and ``expected_date`` are None: until 2026-12-07 the lead time was taken as 0, so the
    proposal and its draft were due the day they were made."""
    where = ["r.active", "p.active", "w.active", "s.active"]
    params: list[Any] = [today]
    for name in PROPOSAL_FILTERS:
        if filters.get(name) is not None:
            params.append(filters[name])
            where.append(f"r.{name} = ${len(params)}")
    rows = await conn.fetch(
        f"""SELECT r.id AS rule_id, r.product_id, p.sku, r.warehouse_id,
                   w.code AS warehouse_code, r.supplier_id, s.code AS supplier_code,
                   coalesce(s.currency, '{DEFAULT_CURRENCY}') AS supplier_currency,
                   coalesce(lv.on_hand, 0) AS on_hand, coalesce(lv.reserved, 0) AS reserved,
                   app.incoming_quantity(r.tenant_id, r.product_id, r.warehouse_id) AS incoming,
                   r.min_quantity, r.max_quantity, r.order_multiple,
                   p.unit_of_measure, u.category AS unit_category, u.ratio AS unit_ratio,
                   coalesce(r.lead_time_days, s.lead_time_days) AS lead_time_days,
                   app.warehouse_today(w.timezone, $1::date) AS warehouse_today
            FROM app.reorder_rules r
            JOIN app.products p ON p.tenant_id = r.tenant_id AND p.id = r.product_id
            -- The shared catalogue says whether the product's unit is counted in whole items (as for the policy).
            LEFT JOIN app.units_of_measure u ON u.code = p.unit_of_measure
            JOIN app.warehouses w ON w.tenant_id = r.tenant_id AND w.id = r.warehouse_id
            JOIN app.suppliers s ON s.tenant_id = r.tenant_id AND s.id = r.supplier_id
            -- The details view: a hold past its expiry no longer counts as reserved (the level reads it so).
            LEFT JOIN app.stock_level_details lv ON lv.product_id = r.product_id AND lv.warehouse_id = r.warehouse_id
            WHERE {" AND ".join(where)}
            ORDER BY s.code, w.code, p.sku""",
        *params,
    )
    found = []
    for row in rows:
        item = dict(row)
        item["projected"] = item["on_hand"] + item["incoming"] - item["reserved"]
        item["quantity"] = proposed_quantity(
            item["min_quantity"],
            item["max_quantity"],
            item["order_multiple"],
            item["projected"],
            *(item.pop(name) for name in ("unit_of_measure", "unit_category", "unit_ratio")),
        )
        if item["quantity"] >= LARGEST_QUANTITY:
            # Only a rule stored before create/update refused such figures, or one whose product's unit changed
            # since (to a count unit, or one counted in larger items), gets here; naming it beats a 500.
            raise InvalidInputError(
                f"reorder rule {item['rule_id']} ({item['sku']} in {item['warehouse_code']}) proposes "
                f"{item['quantity']:f}, past the largest quantity an order keeps ({LARGEST_QUANTITY:f}): lower its "
                "min_quantity, max_quantity or order_multiple",
                code="too_large",
            )
        if item["quantity"] > 0:
            warehouse_today = item.pop("warehouse_today")
            lead = item["lead_time_days"]
            item["expected_date"] = None if lead is None else warehouse_today + timedelta(days=lead)
            found.append(item)
    return found


async def order_proposals(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    user_id: UUID,
    filters: dict[str, UUID],
    *,
    currency: str | None,
    default_tolerance_pct: Decimal,
) -> list[dict]:
    """Turn the current proposals into draft purchase orders, one per supplier and warehouse, in ``currency`` or
    else each supplier's."""
    # One proposal run per tenant at a time: the second sees the first's drafts as incoming.
    await lock_until_commit(conn, f"reorder:{tenant_id}")
    groups = _by_order(await proposals(conn, filters, await members.today_for(conn, user_id)))
    currencies = {key: currency or items[0]["supplier_currency"] for key, items in groups.items()}
    if unpriced := await _price(conn, groups, currencies):
        raise pricing.unpriced_error(unpriced)
    created = []
    # A supplier and warehouse with more proposals than an order takes get several orders.
    batches = [(key, items[i : i + MAX_ORDER_LINES]) for key, items in groups.items()
               for i in range(0, len(items), MAX_ORDER_LINES)]  # fmt: skip
    for (supplier_id, warehouse_id), items in batches:
        order = PurchaseOrderCreate(
            supplier_id=supplier_id,
            warehouse_id=warehouse_id,
            currency=currencies[(supplier_id, warehouse_id)],
            expected_date=_latest_expected(items),
            lines=[
                PurchaseOrderLineCreate(
                    product_id=item["product_id"],
                    quantity=item["quantity"],
                    unit_price=item["unit_price"],
                )
                for item in items
            ],
        )
        created.append(
            await purchasing.create_order(
                conn, tenant_id, user_id, order, default_tolerance_pct=default_tolerance_pct, origin="reorder"
            )
        )
    return created


async def priced_proposals(conn: asyncpg.Connection, filters: dict[str, UUID], today: date) -> list[dict]:
    """The proposals with what a draft would pay for each, in its supplier's currency (or why nothing prices
    it): until 2026-12-06 a proposal showed the product's unit cost, whatever the draft would be priced at."""
    found = await proposals(conn, filters, today)
    groups = _by_order(found)
    await _price(conn, groups, {key: items[0]["supplier_currency"] for key, items in groups.items()})
    return found


def _latest_expected(items: list[dict]) -> date | None:
    """When a draft's last line arrives; None where a line's lead time is not known (a guessed date would make the
    issued order late, and its supplier's delivery late, against a promise nobody made)."""
    dates = [item["expected_date"] for item in items]
    return None if None in dates else max(dates)


def _by_order(found: list[dict]) -> dict[tuple[UUID, UUID], list[dict]]:
    """Proposals per (supplier, warehouse): one draft each."""
    groups: dict[tuple[UUID, UUID], list[dict]] = defaultdict(list)
    for proposal in found:
        groups[(proposal["supplier_id"], proposal["warehouse_id"])].append(proposal)
    return groups


async def _price(
    conn: asyncpg.Connection, groups: dict[tuple[UUID, UUID], list[dict]], currencies: dict[tuple[UUID, UUID], str]
) -> list[str]:
    """Set each proposal's ``unit_price`` and ``currency`` from evidence in its draft's currency (``unit_price``
    None and ``unpriced_reason`` where nothing prices it); returns those reasons (a draft was priced at 0, or
    at a unit cost kept in another currency, until 2026-12-06)."""
    unpriced = []
    for (supplier_id, warehouse_id), items in groups.items():
        currency = currencies[(supplier_id, warehouse_id)]
        evidence = await pricing.price_evidence(conn, supplier_id, currency, {item["product_id"] for item in items})
        for item in items:
            found = evidence[item["product_id"]]
            item.update(currency=currency, unit_price=None, price_source=found.source, unpriced_reason=None)
            if found.price is None:
                item["unpriced_reason"] = found.why_none()
            elif found.price >= LARGEST_PRICE:  # a last price per a tiny unit ordered in, per the product's unit
                item["unpriced_reason"] = f"{found.sku} at {found.price:f} is past the largest price kept"
            elif (kept := pricing.kept_unit_price(found.price)) is None:
                # a last price per thousand, per each: 0.00004 was kept as 0, 0.01234 as 0.0123
                item["unpriced_reason"] = (
                    f"{found.sku} at {found.price.normalize():f} {currency} per unit is finer than the four "
                    "decimals a unit price keeps: price the draft's line by hand"
                )
            else:
                item["unit_price"] = kept
            if item["unpriced_reason"]:
                item["price_source"] = None
                unpriced.append(item["unpriced_reason"])
    return unpriced


def _references(values: dict[str, Any]) -> dict[str, Any]:
    """The ids a rule write refers to, by kind (None where the write leaves one unchanged)."""
    return {kind: values.get(f"{kind}_id") for kind in ("product", "warehouse", "supplier")}
