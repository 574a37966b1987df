"""What every record of one sync run shares (``SyncScope``), and the map between ERP records and Chainsight rows
(``app.integration_external_ids``): look a record up, remember it, require what a record refers to.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg

from integrations.errors import MappingError, RecordRejected
from integrations.mapping import FieldMapping
from integrations.records import Entity


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


def fingerprint(values: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:32]


# A catalogue row can be deleted here (one deleted before 2026-12-07, when a delete took no heed of the maps): its
# map then names nothing, and the record is treated as never synced, so the ERP's next copy of it creates it again.
_CATALOG_TABLES = {e: f"app.{e.value}" for e in (Entity.PRODUCTS, Entity.SUPPLIERS, Entity.WAREHOUSES)}


def _row_still_there(entity: Entity) -> str:
    table = _CATALOG_TABLES.get(entity)
    return f" AND EXISTS (SELECT 1 FROM {table} r WHERE r.id = m.local_id)" if table else ""


class Mapped(NamedTuple):
    """What is remembered of one record: its row, the fingerprint of its mapped values, (stock) its quantity and
    (products, suppliers) the active flag the ERP last sent."""

    local_id: UUID
    fingerprint: str | None
    quantity: Decimal | None
    erp_active: bool | None


async def load_maps(
    conn: asyncpg.Connection, scope: SyncScope, entity: Entity, external_ids: list[str]
) -> dict[str, Mapped]:
    """The maps of a page's records, in one query; a record whose row was deleted here is left out."""
    still_there = _row_still_there(entity)
    rows = await conn.fetch(
        f"""SELECT m.external_id, m.local_id, m.fingerprint, m.quantity, m.erp_active
            FROM app.integration_external_ids m
            WHERE m.connector_id = $1 AND m.entity = $2 AND m.external_id = ANY($3::text[]){still_there}""",
        scope.connector_id,
        entity.value,
        external_ids,
    )
    return {r["external_id"]: Mapped(r["local_id"], r["fingerprint"], r["quantity"], r["erp_active"]) for r in rows}


async def local_id(conn: asyncpg.Connection, scope: SyncScope, entity: Entity, external_id: str) -> UUID | None:
    value: UUID | None = await conn.fetchval(
        f"""SELECT m.local_id FROM app.integration_external_ids m
            WHERE m.connector_id = $1 AND m.entity = $2 AND m.external_id = $3{_row_still_there(entity)}""",
        scope.connector_id,
        entity.value,
        external_id,
    )
    return value


async def remember(
    conn: asyncpg.Connection,
    scope: SyncScope,
    entity: Entity,
    external_id: str,
    local: UUID,
    fingerprint: str | None,
    quantity: Decimal | None = None,
    erp_active: bool | None = None,
) -> None:
    """``quantity`` is a stock record's last reported quantity (a level holds the sum of its records'),
    ``erp_active`` a product's or supplier's active flag as the ERP sent it; null for other entities."""
    await conn.execute(
        """INSERT INTO app.integration_external_ids
               (tenant_id, connector_id, entity, external_id, local_id, fingerprint, quantity, erp_active)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (tenant_id, connector_id, entity, external_id) DO UPDATE
           SET local_id = EXCLUDED.local_id, fingerprint = EXCLUDED.fingerprint, quantity = EXCLUDED.quantity,
               erp_active = EXCLUDED.erp_active, synced_at = now()""",
        scope.tenant_id,
        scope.connector_id,
        entity.value,
        external_id,
        local,
        fingerprint,
        quantity,
        erp_active,
    )


async def require(conn: asyncpg.Connection, scope: SyncScope, entity: Entity, external_id: str) -> UUID:
    found = await local_id(conn, scope, entity, external_id)
    if found is None:
        raise RecordRejected(
            f"refers to {entity.value[:-1].replace('_', ' ')} {external_id!r}, which has not been synced "
            "(missing in the ERP, in the dead letter list, or deleted in Chainsight since)"
        )
    return found


async def warehouse(conn: asyncpg.Connection, scope: SyncScope, external_id: str | None, erp_code: str | None) -> UUID:
    if external_id is not None:
        return await require(conn, scope, Entity.WAREHOUSES, external_id)
    code = scope.mapping.warehouse(erp_code)
    found: UUID | None = await conn.fetchval("SELECT id FROM app.warehouses WHERE code = $1", code)
    if found is None:
        raise MappingError(
            f"warehouse {erp_code or code!r} maps to code {code!r}, which no Chainsight warehouse has: "
            "create it or add it to mapping.warehouses"
        )
    return found
