"""Writing one page of ERP records into Chainsight, inside the caller's tenant transaction.

Every record is keyed by its external id (``app.integration_external_ids``); the first time a record is
seen it adopts a Chainsight row with the same natural key (SKU, supplier or warehouse code) or creates one.
A record whose mapped values hash to the stored fingerprint costs no write, so a rerun changes nothing.
Each write runs in a savepoint: a record the database refuses is dead-lettered and the page goes on.
Catalogue records are applied here; stock and purchase orders in ``integrations.apply_orders``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import asyncpg
from pydantic import BaseModel, ValidationError

from common.errors import DomainError
from integrations.apply_orders import apply_purchase_order, apply_stock, settle_level, settle_shared_levels
from integrations.cancelled_orders import OpenForCancelled
from integrations.errors import RecordRejected
from integrations.external_ids import Mapped, SyncScope, fingerprint, load_maps, remember
from integrations.records import (
    RECORD_MODELS,
    Entity,
    Page,
    ProductRecord,
    SupplierRecord,
    WarehouseRecord,
)
from integrations.stock_lock_order import in_level_order, lock_settled_levels
from inventory.country_zones import country_zone

NUL = "\x00"


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


async def apply_page(conn: asyncpg.Connection, scope: SyncScope, entity: Entity, page: Page) -> Counts:
    counts = Counts()
    known = await load_maps(conn, scope, entity, [r.external_id for r in page.records])
    applier = _APPLIERS[entity]
    succeeded: list[str] = []
    # Stock: where each record lands, resolved once, gives the page's order and then its write.
    records = await in_level_order(conn, scope, page.records, known) if entity is Entity.STOCK else page.records
    for record in records:
        record, placed = record if isinstance(record, tuple) else (record, None)
        where = _nul_in(record.external_id, record.fields)
        if where is not None:
            error = f"{where} contains a NUL character, which the database cannot store: correct it in the ERP"
            await _dead_letter(conn, scope, entity, record.external_id, error, record.raw)
            counts.dead_lettered += 1
            continue
        try:
            model = RECORD_MODELS[entity].model_validate({**record.fields, "external_id": record.external_id})
            async with conn.transaction():  # a savepoint: a refused record leaves the page's transaction usable
                write = applier if placed is None else partial(apply_stock, placed=placed)
                outcome = await write(conn, scope, model, known.get(record.external_id))
        except ValidationError as exc:
            error = _validation_message(exc)
        except DomainError as exc:  # unmapped values, references not synced, moves the life cycle forbids
            error = exc.message
            if isinstance(exc, OpenForCancelled) and exc.local_id is not None:
                # Linked all the same (no fingerprint: read again, it is checked again): never imported as a copy.
                await remember(conn, scope, entity, record.external_id, exc.local_id, None)
        except (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError) as exc:
            error = f"refused by the database: {exc}"
        else:
            setattr(counts, outcome, getattr(counts, outcome) + 1)
            succeeded.append(record.external_id)
            continue
        await _dead_letter(conn, scope, entity, record.external_id, error, record.raw)
        counts.dead_lettered += 1
    if succeeded:
        await _resolve(conn, scope, entity, succeeded)
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


async def close_stock_snapshot(conn: asyncpg.Connection, scope: SyncScope, reported: set[str]) -> Counts:
    """After a complete stock pull (every connector's is a full snapshot): each record an earlier snapshot
    reported and this one did not is forgotten, its level brought to what this snapshot's records on it report
    (0 without any); one Chainsight cannot lower so is dead-lettered and tried again after the next snapshot."""
    counts = Counts()
    gone = await conn.fetch(
        """SELECT external_id, local_id FROM app.integration_external_ids
           WHERE connector_id = $1 AND entity = $2 AND NOT (external_id = ANY($3::text[]))""",
        scope.connector_id,
        Entity.STOCK.value,
        list(reported),
    )
    leaving = [row["external_id"] for row in gone]
    await lock_settled_levels(conn, scope, [row["local_id"] for row in gone])
    for row in gone:
        try:
            async with conn.transaction():
                outcome = await settle_level(conn, scope, row["external_id"], row["local_id"], leaving)
                await conn.execute(
                    "DELETE FROM app.integration_external_ids WHERE connector_id = $1 AND entity = $2"
                    " AND external_id = $3",
                    scope.connector_id,
                    Entity.STOCK.value,
                    row["external_id"],
                )
                # A record dead-lettered because its level could not be lowered then: this success resolves it.
                await _resolve(conn, scope, Entity.STOCK, [row["external_id"]])
        except DomainError as exc:
            await _dead_letter(conn, scope, Entity.STOCK, row["external_id"], exc.message, {"reported": False})
            counts.dead_lettered += 1
            continue
        setattr(counts, outcome, getattr(counts, outcome) + 1)
    # Levels several records land on (two plants on one warehouse) go to their records' sum only now, in one step.
    for external_id, records, refused in await settle_shared_levels(conn, scope):
        if refused is None:
            counts.updated += 1
        else:
            payload = {"level_records": records}
            await _dead_letter(conn, scope, Entity.STOCK, external_id, refused.message, payload)
            counts.dead_lettered += 1
    return counts


def _validation_message(exc: ValidationError) -> str:
    problems = [f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in exc.errors()[:5]]
    return "invalid record: " + "; ".join(problems)


def _nul_in(external_id: str, fields: dict[str, Any]) -> str | None:
    """The first place of a record holding U+0000 (PostgreSQL text and jsonb refuse it), or None."""
    if NUL in external_id:
        return "the record's id"
    for name, value in fields.items():
        if _has_nul(value):
            return f"field {name!r}"
    return None


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def storable(value: Any) -> Any:
    """``value`` with every U+0000 in its text shown as U+2400 (SYMBOL FOR NULL): a dead letter can then be kept."""
    if isinstance(value, str):
        return value.replace(NUL, "\u2400")
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    return value


def _json(raw: Any) -> Any:
    return storable(json.loads(json.dumps(raw, default=str))) if raw is not None else None


async def _dead_letter(
    conn: asyncpg.Connection, scope: SyncScope, entity: Entity, external_id: str, error: str, raw: Any
) -> None:
    """Record the failure: a new dead letter, or the open one met again, or a resolved one reopened."""
    await conn.execute(
        """INSERT INTO app.integration_dead_letters
               (tenant_id, connector_id, entity, external_id, run_id, error, payload)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (tenant_id, connector_id, entity, external_id) DO UPDATE
           SET run_id = EXCLUDED.run_id, error = EXCLUDED.error, payload = EXCLUDED.payload,
               attempts = app.integration_dead_letters.attempts + 1, last_seen_at = now(), resolved_at = NULL,
               -- reopened: to be announced again (integrations.store.announce_dead_letters)
               announced_at = CASE WHEN app.integration_dead_letters.resolved_at IS NULL
                                   THEN app.integration_dead_letters.announced_at END""",
        scope.tenant_id,
        scope.connector_id,
        entity.value,
        storable(external_id)[:200],
        scope.run_id,
        storable(error)[:2000],
        _json(raw),
    )


async def _resolve(conn: asyncpg.Connection, scope: SyncScope, entity: Entity, external_ids: list[str]) -> None:
    """Their open dead letters are resolved: the records have now been applied."""
    await conn.execute(
        """UPDATE app.integration_dead_letters SET resolved_at = now()
           WHERE connector_id = $1 AND entity = $2 AND external_id = ANY($3::text[]) AND resolved_at IS NULL""",
        scope.connector_id,
        entity.value,
        external_ids,
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
    known: Mapped | None,
) -> str:
    digest = fingerprint(values)
    if known is not None and known[1] == digest:
        return "unchanged"
    columns = list(values)
    erp_active = values.get("active")  # products and suppliers: the ERP's own flag
    if known is not None:
        # The ERP's flag is written only when it changed since the ERP last sent it: a row (de)activated here
        # keeps its state through the ERP's edits of anything else. Not known (mapped before migration 0148): only
        # a deactivation is written, so that such an edit reactivates nothing.
        flag_changed = erp_active != known.erp_active if known.erp_active is not None else erp_active is False
        written = {c: v for c, v in values.items() if c != "active" or flag_changed}
        assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(written, start=2))
        status = await conn.execute(
            f"UPDATE {table} SET {assignments}, updated_at = now() WHERE id = $1", known[0], *written.values()
        )
        if status != "UPDATE 0":
            await remember(conn, scope, entity, external_id, known[0], digest, erp_active=erp_active)
            return "updated"
    # First sight (or the mapped row was deleted here, load_maps): adopt the row with the same natural key, or
    # create it.
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
    await remember(conn, scope, entity, external_id, row["id"], digest, erp_active=erp_active)
    return "created" if row["inserted"] else "updated"


async def _apply_product(conn: asyncpg.Connection, scope: SyncScope, model: BaseModel, known: Any) -> str:
    assert isinstance(model, ProductRecord)
    values: dict[str, Any] = {
        "sku": model.sku,
        "name": model.name,
        "unit_of_measure": scope.mapping.unit(model.uom, scope.units),
        "active": model.active,
    }
    if "unit_cost" in model.model_fields_set:  # a connector that reads no cost (SAP) keeps the one here
        # ERPs keep a product's cost in the company's currency, which the mapping's default_currency names;
        # without it the cost's currency is unknown and prices no order.
        values |= {"unit_cost": model.unit_cost, "unit_cost_currency": scope.mapping.default_currency}
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
    if model.currency is not None:
        values["currency"] = scope.mapping.currency_or_none(model.currency)
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
    if model.timezone is not None:
        values["timezone"] = model.timezone
    outcome = await _upsert_catalog(
        conn, scope, Entity.WAREHOUSES, "app.warehouses", "code", model.external_id, values, known
    )
    if outcome == "created" and model.timezone is None and model.country and (zone := country_zone(model.country)):
        # As a warehouse created through the API: its country's zone where the country keeps one time. Only on
        # creation, and outside the values: a zone set here later is the buyer's and no sync overwrites it.
        await conn.execute(
            "UPDATE app.warehouses SET timezone = $3 WHERE tenant_id = $1 AND code = $2",
            scope.tenant_id, values["code"], zone,
        )  # fmt: skip
    return outcome


_Applier = Callable[[asyncpg.Connection, SyncScope, BaseModel, Any], Awaitable[str]]
_APPLIERS: dict[Entity, _Applier] = {
    Entity.WAREHOUSES: _apply_warehouse,
    Entity.SUPPLIERS: _apply_supplier,
    Entity.PRODUCTS: _apply_product,
    Entity.STOCK: apply_stock,
    Entity.PURCHASE_ORDERS: apply_purchase_order,
}
