"""Pushing a Chainsight purchase order to an ERP, and remembering the ERP's id for it."""

from __future__ import annotations

import asyncio
import math
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from common.config import ERP_PUSH_DEADLINE_MAX_S
from common.database import TenantTransaction
from common.errors import ConflictError, InvalidInputError, NotFoundError
from integrations import store
from integrations.connector import Connector, ConnectorConfig, connector_class
from integrations.errors import ConnectorUnavailableError, WriteOutcomeUnknownError
from integrations.external_ids import SyncScope, remember
from integrations.mapping import FieldMapping
from integrations.records import Entity, PushLine, PushOrder
from integrations.sync import SyncDeps
from inventory.pricing import MAX_PRICE_ROUNDING, kept_unit_price
from inventory.purchasing_status import push_claim_takeover, refuse_inactive_references


async def push_purchase_order(
    deps: SyncDeps,
    claims: dict[str, Any],
    requested_tenant: UUID | None,
    connector_id: UUID,
    order_id: UUID,
    *,
    deadline_s: float = ERP_PUSH_DEADLINE_MAX_S,
) -> dict:
    """Create a Chainsight purchase order in the ERP and remember the ERP's id for it.

    The ERP call happens between two transactions: nothing is held open while the ERP answers. The first
    claims the order for the connector (migration 0127), so a second push meanwhile is refused instead of
    creating a second ERP order, and so are an edit, a cancel or a receipt of the order (``lock_order``), which
    the ERP would not see. The claim goes when the ERP has answered, either way. Where no answer says whether the
    ERP made the order (``deadline_s``, all the ERP requests and their retries together, has passed; the connection
    dropped during the create, or a gateway answered it 502/504; the push was cancelled, its caller gone), the push
    stops but the claim stays until it lapses, a minute after the deadline (as it does if this process dies): the
    ERP may still be creating the order, and a push meanwhile would find nothing to look up and create it again.
    """

    async def prepare(tx: TenantTransaction) -> tuple[dict, dict, PushOrder]:
        tx.require_write()
        connector = await store.get_connector(tx.conn, connector_id)
        # Looked up before the claim, whose foreign key would refuse an order this tenant does not have (a 500).
        # Locked as an edit locks it (inventory.purchasing_status.lock_order): an edit under way commits first and
        # is pushed with the order; one that comes later sees the claim and is refused.
        locked = "SELECT id FROM app.purchase_orders WHERE id = $1 FOR UPDATE"
        if await tx.conn.fetchval(locked, order_id) is None:
            raise NotFoundError(f"purchase order {order_id} not found", code="unknown_purchase_order")
        # Claimed before the check below, so that check sees what a push that released its claim recorded.
        claimed = await _claim(tx, connector_id, order_id, push_claim_takeover(deadline_s))
        credentials = await store.connector_credentials(tx.conn, connector_id, deps.cipher)
        mapping = FieldMapping.model_validate(connector["mapping"])
        scope = SyncScope(tx.tenant_id, connector_id, connector["name"], order_id, mapping, frozenset())
        existing = await _external(tx.conn, scope, Entity.PURCHASE_ORDERS, order_id)
        # Checked first: a sync may have linked the order a push left claimed (its outcome unknown).
        if existing is not None:
            raise ConflictError(
                f"purchase order {order_id} is already in {connector['name']} as {existing!r}", code="already_pushed"
            )
        if not claimed:
            raise ConflictError(
                f"purchase order {order_id} is being pushed to {connector['name']} already; try again when it has "
                "answered (a push that ended without knowing whether the ERP made the order holds the order until a "
                "minute after its deadline)",
                code="push_in_progress",
            )
        order = await _order_to_push(tx.conn, scope, order_id, connector["kind"])
        return connector, credentials, order

    connector_row, credentials, order = await deps.database.run(claims, requested_tenant, prepare)
    # Taken after the claim committed, so the claim is older than this says: Retry-After errs late, never early.
    claim_lapses_at = time.monotonic() + push_claim_takeover(deadline_s).total_seconds()
    config = ConnectorConfig(
        base_url=connector_row["base_url"],
        credentials=credentials,
        options=connector_row["options"],
        page_size=deps.page_size,
        retry=deps.retry,
    )
    try:
        # The connector is built in here: until 2026-12-07 a construction that failed left the claim to lapse.
        connector = deps.connector_factory(connector_row["kind"], config)
        external_id = await _create_in_erp(connector, order, deadline_s, claim_lapses_at)
    except (PushOutcomeUnknownError, asyncio.CancelledError):
        # Until 2026-12-07 the claim went here too, and a retry while the ERP was still creating the order made
        # it twice: the claim now lapses on its own, and the error says when (a cancelled push has no one to tell).
        raise
    except BaseException:
        await deps.database.run(claims, requested_tenant, lambda tx: _release(tx, connector_id, order_id))
        raise

    async def record(tx: TenantTransaction) -> dict:
        scope = SyncScope(tx.tenant_id, connector_id, connector_row["name"], order_id, FieldMapping(), frozenset())
        await remember(tx.conn, scope, Entity.PURCHASE_ORDERS, external_id, order_id, None)
        await _release(tx, connector_id, order_id)
        return {"purchase_order_id": order_id, "connector_id": connector_id, "external_id": external_id}

    result: dict = await deps.database.run(claims, requested_tenant, record)
    return result


class PushOutcomeUnknownError(ConnectorUnavailableError):
    """No answer says whether the ERP made the order, and it may have: the push's claim holds until
    ``details["retry_after_s"]`` has passed."""

    code = "erp_outcome_unknown"


class PushDeadlineError(PushOutcomeUnknownError):
    """The ERP did not finish the push within its deadline; it may be making the order all the same."""

    code = "erp_timeout"


# What a push again finds of an order the ERP made without saying so.
_LOOK_UP = (
    "Odoo, NetSuite and SAP (numbers of up to 12 characters) look the order up by its number first; in Business "
    "Central look for it there first"
)


async def _create_in_erp(connector: Connector, order: PushOrder, deadline_s: float, claim_lapses_at: float) -> str:
    deadline = asyncio.timeout(deadline_s)
    try:
        async with deadline:
            return await connector.push_purchase_order(order)
    except TimeoutError as exc:
        if not deadline.expired():
            raise  # an error of the connector's own, not the deadline
        retry_after_s = _seconds_until(claim_lapses_at)
        raise PushDeadlineError(
            f"{connector.vendor}: the ERP did not answer within {deadline_s:g} s and may still be creating the order; "
            f"push again after about a minute ({retry_after_s} s, until then the order stays claimed): {_LOOK_UP}",
            details={"deadline_s": deadline_s, "retry_after_s": retry_after_s},
        ) from exc
    except WriteOutcomeUnknownError as exc:
        retry_after_s = _seconds_until(claim_lapses_at)
        raise PushOutcomeUnknownError(
            f"{exc}; the ERP may have made the order: push again after {retry_after_s} s (until then the order "
            f"stays claimed): {_LOOK_UP}",
            details={"deadline_s": deadline_s, "retry_after_s": retry_after_s},
        ) from exc
    finally:
        await connector.aclose()


def _seconds_until(claim_lapses_at: float) -> int:
    return max(1, math.ceil(claim_lapses_at - time.monotonic()))


# Kinds whose push names the warehouse by its ERP id and cannot leave it out: Odoo receives an order in the
# warehouse's own receipt type (without one, in its first warehouse).
_PUSH_NEEDS_WAREHOUSE_ID = frozenset({"odoo"})


def _may_push_unsynced(kind: str, warehouse_code: str, mapping: FieldMapping) -> bool:
    """Whether an order for a warehouse with no ERP id (not synced from the connector) may go to the ERP."""
    if Entity.WAREHOUSES not in connector_class(kind).entities:
        return True  # SAP: the plant goes by its (mapped) code
    # An ERP order naming no warehouse the sync knows comes back in another one. Business Central and NetSuite
    # take an order without a location, and it comes back in the mapping's default_warehouse: only that warehouse
    # may go without one.
    return kind not in _PUSH_NEEDS_WAREHOUSE_ID and warehouse_code == mapping.default_warehouse


async def _claim(tx: TenantTransaction, connector_id: UUID, order_id: UUID, takeover: timedelta) -> bool:
    """Whether the push got the order's claim: none was held, or the one held is older than ``takeover``."""
    claimed = await tx.conn.fetchval(
        """INSERT INTO app.integration_push_claims (tenant_id, connector_id, purchase_order_id) VALUES ($1, $2, $3)
           ON CONFLICT (tenant_id, connector_id, purchase_order_id) DO UPDATE SET claimed_at = now()
           WHERE app.integration_push_claims.claimed_at < now() - $4::interval
           RETURNING true""",
        tx.tenant_id,
        connector_id,
        order_id,
        takeover,
    )
    return claimed is not None


async def _release(tx: TenantTransaction, connector_id: UUID, order_id: UUID) -> None:
    await tx.conn.execute(
        "DELETE FROM app.integration_push_claims WHERE connector_id = $1 AND purchase_order_id = $2",
        connector_id,
        order_id,
    )


async def _external(conn: asyncpg.Connection, scope: SyncScope, entity: Entity, local: UUID) -> str | None:
    value: str | None = await conn.fetchval(
        """SELECT external_id FROM app.integration_external_ids
           WHERE connector_id = $1 AND entity = $2 AND local_id = $3 ORDER BY synced_at DESC LIMIT 1""",
        scope.connector_id,
        entity.value,
        local,
    )
    return value


async def _order_to_push(conn: asyncpg.Connection, scope: SyncScope, order_id: UUID, kind: str) -> PushOrder:
    order = await conn.fetchrow(
        """SELECT po.id, po.number, po.status, po.currency, po.expected_date, po.supplier_id, s.code AS supplier_code,
                  po.warehouse_id, w.code AS warehouse_code
           FROM app.purchase_orders po
           JOIN app.suppliers s ON s.id = po.supplier_id
           JOIN app.warehouses w ON w.id = po.warehouse_id
           WHERE po.id = $1""",
        order_id,
    )
    if order is None:
        raise NotFoundError(f"purchase order {order_id} not found", code="unknown_purchase_order")
    if order["status"] not in ("draft", "issued"):
        raise ConflictError(f"purchase order {order['number']} is {order['status']}; only open orders can be pushed")
    if order["status"] == "draft":
        # The ERP issues it, and the next sync brings it back issued: refused as issuing it here is.
        await refuse_inactive_references(conn, order)
    supplier = await _external(conn, scope, Entity.SUPPLIERS, order["supplier_id"])
    if supplier is None:
        raise InvalidInputError(
            f"supplier {order['supplier_code']} was not synced from {scope.connector_name}: the ERP cannot know it",
            code="supplier_not_in_erp",
        )
    warehouse = await _external(conn, scope, Entity.WAREHOUSES, order["warehouse_id"])
    if warehouse is None and not _may_push_unsynced(kind, order["warehouse_code"], scope.mapping):
        raise InvalidInputError(
            f"warehouse {order['warehouse_code']} was not synced from {scope.connector_name}: the ERP cannot know it",
            code="warehouse_not_in_erp",
        )
    lines = []
    for row in await conn.fetch(
        """SELECT l.line_no, l.product_id, p.sku, p.unit_of_measure, l.quantity_base, l.quantity, l.uom, l.unit_price
           FROM app.purchase_order_lines l JOIN app.products p ON p.id = l.product_id
           WHERE l.purchase_order_id = $1 AND l.erp_given_up_at IS NULL ORDER BY l.line_no""",
        order_id,
    ):
        product = await _external(conn, scope, Entity.PRODUCTS, row["product_id"])
        if product is None:
            raise InvalidInputError(
                f"product {row['sku']} was not synced from {scope.connector_name}: the ERP cannot know it",
                code="product_not_in_erp",
            )
        # The ERP gets the quantity in the product's own unit, and the price per that unit.
        price = _price_per_product_unit(row, order["currency"], scope.connector_name)
        lines.append(
            PushLine(
                line_no=row["line_no"],
                product_external_id=product,
                sku=row["sku"],
                quantity=row["quantity_base"],
                uom=scope.mapping.erp_unit(row["unit_of_measure"]),
                unit_price=price,
            )
        )
    if not lines:
        raise ConflictError(f"purchase order {order['number']} has no lines", code="empty_order")
    return PushOrder(
        number=order["number"],
        supplier_external_id=supplier,
        supplier_code=order["supplier_code"],
        warehouse_external_id=warehouse,
        warehouse_code=scope.mapping.erp_warehouse(order["warehouse_code"]),
        currency=scope.mapping.erp_currency(order["currency"]),
        expected_date=order["expected_date"],
        lines=lines,
    )


def _price_per_product_unit(line: asyncpg.Record, currency: str, connector_name: str) -> Decimal:
    """The line's price per unit of the product's own unit, at the four decimals the ERP is sent and the next sync
    keeps (it writes the ERP's line back). Refused where those lose more than the API allows a derived price: until
    2026-12-07 a box of 1000 at 0.45 went as 0.0004 each, and the sync then kept the order 11% low."""
    exact = line["unit_price"] * line["quantity"] / line["quantity_base"]
    price = kept_unit_price(exact)
    if price is None:
        unit, ordered = line["unit_of_measure"], line["unit_price"].normalize()
        raise ConflictError(
            f"line {line['line_no']}: {line['sku']} at {ordered:f} {currency} per {line['uom']} is "
            f"{exact.quantize(Decimal('1e-8')).normalize():f} {currency} per {unit}, and {connector_name} takes a "
            f"price per {unit} to four decimals, which lose more than {MAX_PRICE_ROUNDING:.1%} of it: order it in "
            f"{unit}, or at a price four decimals per {unit} keep",
            code="price_too_fine_for_erp",
        )
    return price
