"""What every record of one sync run shares (``SyncScope``), and the map between ERP records and Chainsight rows
(``app.integration_external_ids``): look a record up, remember it, require what a record refers to.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
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
    conn: asyncpg.Connection,
    scope: SyncScope,
    entity: Entity,
    external_id: str,
    local: UUID,
    fingerprint: str | None,
    quantity: Decimal | None = None,
) -> None:
    """``quantity`` is a stock record's last reported quantity (a level holds the sum of its records'); null for
    other entities."""
    await conn.execute(
        """INSERT INTO app.integration_external_ids
               (tenant_id, connector_id, entity, external_id, local_id, fingerprint, quantity)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (tenant_id, connector_id, entity, external_id) DO UPDATE
           SET local_id = EXCLUDED.local_id, fingerprint = EXCLUDED.fingerprint, quantity = EXCLUDED.quantity,
               synced_at = now()""",
        scope.tenant_id,
        scope.connector_id,
        entity.value,
        external_id,
        local,
        fingerprint,
        quantity,
    )


async def require(conn: asyncpg.Connection, scope: SyncScope, entity: Entity, external_id: str) -> UUID:
    found = await local_id(conn, scope, entity, external_id)
    if found is None:
        raise RecordRejected(
            f"refers to {entity.value[:-1].replace('_', ' ')} {external_id!r}, which has not been synced "
            "(missing in the ERP or in the dead letter list)"
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
