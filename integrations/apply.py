"""Writing one page of ERP records into Chainsight, inside the caller's tenant transaction.

Every record is keyed by its external id (``app.integration_external_ids``); the first time a record is
seen it adopts a Chainsight row with the same natural key (SKU, supplier or warehouse code) or creates one.
A record whose mapped values hash to the stored fingerprint costs no write, so a rerun changes nothing.
Each write runs in a savepoint: a record the database refuses is dead-lettered and the page goes on.
Stock is brought to the ERP's figure by one ledger adjustment per level, so the ledger stays the only
writer of ``on_hand``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
from pydantic import BaseModel, ValidationError

from common.errors import DomainError
from integrations.errors import MappingError
from integrations.mapping import FieldMapping
from integrations.records import (
    RECORD_MODELS,
    Entity,
    Page,
    ProductRecord,
    PurchaseOrderRecord,
    StockRecord,
    SupplierRecord,
    WarehouseRecord,
)
from inventory import purchasing_status as lifecycle
from inventory.purchasing_receipts import to_base
from inventory.uom import conversion_factor


class RecordRejected(ValueError):
    """The record is well formed but cannot be applied (refers to something not synced, illegal change)."""


@dataclass
class SyncScope:
    """What every page of one run needs: the tenant, the connector, its mapping and the shared units."""

    tenant_id: UUID
    connector_id: UUID
    connector_name: str
    run_id: UUID
    mapping: FieldMapping
    units: frozenset[str]

    @property
    def origin(self) -> str:
        return f"erp:{self.connector_name}"


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    dead_lettered: int = 0

    def add(self, other: Counts) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.dead_lettered += other.dead_lettered

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("created", "updated", "unchanged", "dead_lettered")}


@dataclass
class _Known:
    """External id -> (local id, fingerprint) for the records of one page, loaded in one query."""

    rows: dict[str, tuple[UUID, str | None]] = field(default_factory=dict)


async def apply_page(conn: asyncpg.Connection, scope: SyncScope, entity: Entity, page: Page) -> Counts:
    counts = Counts()
    known = await _load_maps(conn, scope, entity, [r.external_id for r in page.records])
    applier = _APPLIERS[entity]
    succeeded: list[str] = []
    for record in page.records:
        try:
            model = RECORD_MODELS[entity].model_validate({**record.fields, "external_id": record.external_id})
            async with conn.transaction():  # a savepoint: a refused record leaves the page's transaction usable
                outcome = await applier(conn, scope, model, known.rows.get(record.external_id))
        except ValidationError as exc:
            await _dead_letter(conn, scope, entity, record.external_id, _validation_message(exc), record.raw)
            counts.dead_lettered += 1
            continue
        except (MappingError, RecordRejected, DomainError) as exc:
            message = exc.message if isinstance(exc, DomainError) else str(exc)
            await _dead_letter(conn, scope, entity, record.external_id, message, record.raw)
            counts.dead_lettered += 1
            continue
        except (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError) as exc:
            await _dead_letter(conn, scope, entity, record.external_id, f"refused by the database: {exc}", record.raw)
            counts.dead_lettered += 1
            continue
        setattr(counts, outcome, getattr(counts, outcome) + 1)
        succeeded.append(record.external_id)
    if succeeded:
        await conn.execute(
            """UPDATE app.integration_dead_letters SET resolved_at = now()
               WHERE connector_id = $1 AND entity = $2 AND external_id = ANY($3::text[]) AND resolved_at IS NULL""",
            scope.connector_id,
            entity.value,
            succeeded,
        )
    if page.cursor is not None:
        await conn.execute(
            """INSERT INTO app.integration_sync_state (tenant_id, connector_id, entity, cursor)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (tenant_id, connector_id, entity)
               DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = now()""",
            scope.tenant_id,
            scope.connector_id,
            entity.value,
            page.cursor,
        )
    await conn.execute("UPDATE app.integration_sync_runs SET heartbeat_at = now() WHERE id = $1", scope.run_id)
    return counts


def _validation_message(exc: ValidationError) -> str:
    problems = [f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in exc.errors()[:5]]
    return "invalid record: " + "; ".join(problems)


def _fingerprint(values: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _json(raw: Any) -> Any:
    return json.loads(json.dumps(raw, default=str)) if raw is not None else None


async def _dead_letter(
    conn: asyncpg.Connection, scope: SyncScope, entity: Entity, external_id: str, error: str, raw: Any
) -> None:
    await conn.execute(
        """INSERT INTO app.integration_dead_letters
               (tenant_id, connector_id, entity, external_id, run_id, error, payload)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (tenant_id, connector_id, entity, external_id) DO UPDATE
           SET run_id = EXCLUDED.run_id, error = EXCLUDED.error, payload = EXCLUDED.payload,
               attempts = app.integration_dead_letters.attempts + 1, last_seen_at = now(), resolved_at = NULL""",
        scope.tenant_id,
        scope.connector_id,
        entity.value,
        external_id[:200],
        scope.run_id,
        error[:2000],
        _json(raw),
    )


async def _load_maps(conn: asyncpg.Connection, scope: SyncScope, entity: Entity, external_ids: list[str]) -> _Known:
    rows = await conn.fetch(
        """SELECT external_id, local_id, fingerprint FROM app.integration_external_ids
           WHERE connector_id = $1 AND entity = $2 AND external_id = ANY($3::text[])""",
        scope.connector_id,
        entity.value,
        external_ids,
    )
    return _Known({r["external_id"]: (r["local_id"], r["fingerprint"]) for r in rows})


async def local_id(conn: asyncpg.Connection, scope: SyncScope, entity: Entity, external_id: str) -> UUID | None:
    value: UUID | None = await conn.fetchval(
        """SELECT local_id FROM app.integration_external_ids
           WHERE connector_id = $1 AND entity = $2 AND external_id = $3""",
        scope.connector_id,
        entity.value,
        external_id,
    )
    return value


async def remember(
    conn: asyncpg.Connection, scope: SyncScope, entity: Entity, external_id: str, local: UUID, fingerprint: str | None
) -> None:
    await conn.execute(
        """INSERT INTO app.integration_external_ids
               (tenant_id, connector_id, entity, external_id, local_id, fingerprint)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (tenant_id, connector_id, entity, external_id) DO UPDATE
           SET local_id = EXCLUDED.local_id, fingerprint = EXCLUDED.fingerprint, synced_at = now()""",
        scope.tenant_id,
        scope.connector_id,
        entity.value,
        external_id,
        local,
        fingerprint,
    )


# --- catalogue: products, suppliers, warehouses -------------------------------------------------------------


async def _upsert_catalog(
    conn: asyncpg.Connection,
    scope: SyncScope,
    entity: Entity,
    table: str,
    key: str,
    external_id: str,
    values: dict[str, Any],
    known: tuple[UUID, str | None] | None,
) -> str:
    fingerprint = _fingerprint(values)
    if known is not None and known[1] == fingerprint:
        return "unchanged"
    columns = list(values)
    if known is not None:
        assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=2))
        status = await conn.execute(
            f"UPDATE {table} SET {assignments}, updated_at = now() WHERE id = $1", known[0], *values.values()
        )
        if status != "UPDATE 0":
            await remember(conn, scope, entity, external_id, known[0], fingerprint)
            return "updated"
    # First sight (or the mapped row was deleted here): adopt the row with the same natural key, or create it.
    placeholders = ", ".join(f"${i}" for i in range(2, len(columns) + 2))
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != key)
    row = await conn.fetchrow(
        f"""INSERT INTO {table} (tenant_id, {", ".join(columns)}) VALUES ($1, {placeholders})
            ON CONFLICT (tenant_id, {key}) DO UPDATE SET {updates}, updated_at = now()
            RETURNING id, (xmax = 0) AS inserted""",
        scope.tenant_id,
        *values.values(),
    )
    assert row is not None
    other = await conn.fetchval(
        """SELECT external_id FROM app.integration_external_ids
           WHERE connector_id = $1 AND entity = $2 AND local_id = $3 AND external_id <> $4 LIMIT 1""",
        scope.connector_id,
        entity.value,
        row["id"],
        external_id,
    )
    if other is not None:
        raise RecordRejected(
            f"{key} {values[key]!r} already belongs to ERP record {other!r}: two ERP records cannot share it"
        )
    await remember(conn, scope, entity, external_id, row["id"], fingerprint)
    return "created" if row["inserted"] else "updated"


async def _apply_product(conn: asyncpg.Connection, scope: SyncScope, model: BaseModel, known: Any) -> str:
    assert isinstance(model, ProductRecord)
    values = {
        "sku": model.sku,
        "name": model.name,
        "unit_of_measure": scope.mapping.unit(model.uom, scope.units),
        "unit_cost": model.unit_cost,
        "active": model.active,
    }
    return await _upsert_catalog(conn, scope, Entity.PRODUCTS, "app.products", "sku", model.external_id, values, known)


async def _apply_supplier(conn: asyncpg.Connection, scope: SyncScope, model: BaseModel, known: Any) -> str:
    assert isinstance(model, SupplierRecord)
    values = {
        "code": model.code,
        "name": model.name,
        "country": model.country,
        "email": model.email,
        "active": model.active,
    }
    return await _upsert_catalog(
        conn, scope, Entity.SUPPLIERS, "app.suppliers", "code", model.external_id, values, known
    )


async def _apply_warehouse(conn: asyncpg.Connection, scope: SyncScope, model: BaseModel, known: Any) -> str:
    assert isinstance(model, WarehouseRecord)
    values = {
        "code": scope.mapping.warehouse(model.code),
        "name": model.name,
        "country": model.country,
        "city": model.city,
    }
    return await _upsert_catalog(
        conn, scope, Entity.WAREHOUSES, "app.warehouses", "code", model.external_id, values, known
    )


# --- references ---------------------------------------------------------------------------------------------


async def _require(conn: asyncpg.Connection, scope: SyncScope, entity: Entity, external_id: str) -> UUID:
    found = await local_id(conn, scope, entity, external_id)
    if found is None:
        raise RecordRejected(
            f"refers to {entity.value[:-1].replace('_', ' ')} {external_id!r}, which has not been synced "
            "(missing in the ERP or in the dead letter list)"
        )
    return found


async def _warehouse(conn: asyncpg.Connection, scope: SyncScope, external_id: str | None, erp_code: str | None) -> UUID:
    if external_id is not None:
        return await _require(conn, scope, Entity.WAREHOUSES, external_id)
    code = scope.mapping.warehouse(erp_code)
    found: UUID | None = await conn.fetchval("SELECT id FROM app.warehouses WHERE code = $1", code)
    if found is None:
        raise MappingError(
            f"warehouse {erp_code or code!r} maps to code {code!r}, which no Chainsight warehouse has: "
            "create it or add it to mapping.warehouses"
        )
    return found


# --- stock --------------------------------------------------------------------------------------------------


async def _apply_stock(conn: asyncpg.Connection, scope: SyncScope, model: BaseModel, known: Any) -> str:
    assert isinstance(model, StockRecord)
    product_id = await _require(conn, scope, Entity.PRODUCTS, model.product_external_id)
    warehouse_id = await _warehouse(conn, scope, model.warehouse_external_id, model.warehouse_code)
    on_hand: Decimal | None = await conn.fetchval(
        "SELECT on_hand FROM app.stock_levels WHERE product_id = $1 AND warehouse_id = $2 FOR UPDATE",
        product_id,
        warehouse_id,
    )
    change = model.quantity - (on_hand or Decimal(0))
    if change == 0:
        return "unchanged"
    try:
        await conn.execute(
            """INSERT INTO app.stock_movements
                   (tenant_id, product_id, warehouse_id, movement_type, quantity, reference, reason)
               VALUES ($1, $2, $3, 'adjustment', $4, $5, 'ERP stock sync')""",
            scope.tenant_id,
            product_id,
            warehouse_id,
            change,
            f"{scope.origin}:{model.external_id}"[:200],
        )
    except asyncpg.CheckViolationError as exc:
        raise RecordRejected(
            f"the ERP's on hand ({model.quantity:f}) is below what Chainsight has reserved for this level"
        ) from exc
    return "created" if on_hand is None else "updated"


# --- purchase orders ----------------------------------------------------------------------------------------


async def _apply_purchase_order(conn: asyncpg.Connection, scope: SyncScope, model: BaseModel, known: Any) -> str:
    assert isinstance(model, PurchaseOrderRecord)
    supplier_id = await _require(conn, scope, Entity.SUPPLIERS, model.supplier_external_id)
    warehouse_id = await _warehouse(conn, scope, model.warehouse_external_id, model.warehouse_code)
    currency = scope.mapping.currency(model.currency)
    lines = []
    for line in sorted(model.lines, key=lambda x: x.line_no):
        product_id = await _require(conn, scope, Entity.PRODUCTS, line.product_external_id)
        unit = scope.mapping.unit(line.uom, scope.units)
        unit, factor, _ = await conversion_factor(conn, product_id, unit)
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
    fingerprint = _fingerprint({**header, "status": model.status.value, "lines": lines})
    if known is not None and known[1] == fingerprint:
        return "unchanged"
    order = None
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
        outcome = "created"
    else:
        order_id = order["id"]
        # The number stays: an order pushed from Chainsight keeps its own number once the ERP reports it back.
        changes = {k: v for k, v in header.items() if k != "number"}
        assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(changes, start=2))
        await conn.execute(
            f"UPDATE app.purchase_orders SET {assignments}, updated_at = now() WHERE id = $1",
            order_id,
            *changes.values(),
        )
        # The same transition, timestamps and events as a user's action; an illegal move is dead-lettered.
        await lifecycle.advance(conn, scope.tenant_id, dict(order), model.status, source=scope.origin)
        outcome = "updated"
    await conn.executemany(
        """INSERT INTO app.purchase_order_lines
               (tenant_id, purchase_order_id, line_no, product_id, quantity, uom, uom_factor, quantity_base, unit_price,
                received_base)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (purchase_order_id, line_no) DO UPDATE
           SET product_id = EXCLUDED.product_id, quantity = EXCLUDED.quantity, uom = EXCLUDED.uom,
               uom_factor = EXCLUDED.uom_factor, quantity_base = EXCLUDED.quantity_base,
               unit_price = EXCLUDED.unit_price, received_base = EXCLUDED.received_base, updated_at = now()""",
        [(scope.tenant_id, order_id, *line.values()) for line in lines],
    )
    await conn.execute(
        "DELETE FROM app.purchase_order_lines WHERE purchase_order_id = $1 AND NOT (line_no = ANY($2::int[]))",
        order_id,
        [line["line_no"] for line in lines],
    )
    await remember(conn, scope, Entity.PURCHASE_ORDERS, model.external_id, order_id, fingerprint)
    return outcome


_Applier = Callable[[asyncpg.Connection, SyncScope, BaseModel, Any], Awaitable[str]]
_APPLIERS: dict[Entity, _Applier] = {
    Entity.WAREHOUSES: _apply_warehouse,
    Entity.SUPPLIERS: _apply_supplier,
    Entity.PRODUCTS: _apply_product,
    Entity.STOCK: _apply_stock,
    Entity.PURCHASE_ORDERS: _apply_purchase_order,
}
