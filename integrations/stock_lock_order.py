"""The ERP stock sync takes stock levels in the order every write of several levels takes them: by product, then
warehouse (``inventory.stock.lock_levels``). A page holds each level it sets until it commits, so applied in the
ERP's own order (or a snapshot's close settling levels by their ids) it deadlocked with a receipt or delivery of
the same products taking them the other way round (the page, and so the run, failed as a deadlock)."""

from __future__ import annotations

from uuid import UUID

import asyncpg
from pydantic import ValidationError

from common.errors import DomainError
from integrations.external_ids import SyncScope, local_id, warehouse
from integrations.records import Entity, SourceRecord, StockRecord

# A record whose level cannot be told (invalid, unmapped, a NUL the database refuses) sorts last: it is
# dead-lettered without touching a level.
_UNKNOWN = (1,)


async def in_level_order(conn: asyncpg.Connection, scope: SyncScope, records: list[SourceRecord]) -> list[SourceRecord]:
    """A page's stock records in the order of the levels they land on; records on one level keep the ERP's order
    (the first sets a new level, the others find it shared)."""
    keys: list[tuple[int, UUID, UUID] | tuple[int]] = []
    for record in records:
        try:
            model = StockRecord.model_validate({**record.fields, "external_id": record.external_id})
        except ValidationError:
            keys.append(_UNKNOWN)
            continue
        names = (model.product_external_id, model.warehouse_external_id or "", model.warehouse_code or "")
        if any("\x00" in name for name in names):
            keys.append(_UNKNOWN)
            continue
        product_id = await local_id(conn, scope, Entity.PRODUCTS, model.product_external_id)
        try:
            warehouse_id = await warehouse(conn, scope, model.warehouse_external_id, model.warehouse_code)
        except DomainError:  # unmapped: refused again, and dead-lettered, when the record is applied
            keys.append(_UNKNOWN)
            continue
        keys.append(_UNKNOWN if product_id is None else (0, product_id, warehouse_id))
    order = sorted(range(len(records)), key=lambda i: keys[i])
    return [records[i] for i in order]


async def lock_settled_levels(conn: asyncpg.Connection, scope: SyncScope, left: list[UUID]) -> None:
    """Before a snapshot's close settles them, in one pass: the levels ``left`` by records the snapshot no longer
    reports, and those several of the connector's records share."""
    await conn.execute(
        """SELECT 1 FROM app.stock_levels l
           WHERE l.id = ANY($3::uuid[])
              OR l.id IN (SELECT local_id FROM app.integration_external_ids WHERE connector_id = $1 AND entity = $2
                          GROUP BY local_id HAVING count(*) > 1)
           ORDER BY l.product_id, l.warehouse_id FOR UPDATE OF l""",
        scope.connector_id,
        Entity.STOCK.value,
        left,
    )
