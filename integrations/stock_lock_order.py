"""The ERP stock sync takes stock levels in the order every write of several levels takes them: by product, then
warehouse (``inventory.stock.lock_levels``), each level's holds past their expiry released before the level itself
(as the release job, migration 0164, and an issue or a reservation release them: the holds, then the level). A page
holds each level it sets until it commits, so applied in the ERP's own order (or a snapshot's close settling levels
by their ids) it deadlocked with a receipt or delivery of the same products taking them the other way round (the
page, and so the run, failed as a deadlock). Until 2026-12-08 a record locked its level before releasing that
level's expired holds (a cycle with the release job), and a record remapped to another warehouse settled the level
it left after locking the one it landed on, whichever came first in the order."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from uuid import UUID

import asyncpg
from pydantic import ValidationError

from common.errors import DomainError
from integrations.external_ids import Mapped, SyncScope, local_id, require, warehouse
from integrations.records import Entity, SourceRecord, StockRecord
from inventory.stock import lock_levels, release_expired

# A record whose level cannot be told (invalid, unmapped, a NUL the database refuses) sorts last: it is
# dead-lettered without touching a level.
_UNKNOWN = (1,)

Level = tuple[UUID, UUID]  # (product, warehouse)


@dataclass(frozen=True)
class Placed:
    """Where a stock record lands, resolved once for its page, and the level it set before if that is another one
    (its warehouse mapped anew)."""

    product_id: UUID
    warehouse_id: UUID
    leaves: Level | None = None


async def in_level_order(
    conn: asyncpg.Connection, scope: SyncScope, records: list[SourceRecord], known: Mapping[str, Mapped]
) -> list[tuple[SourceRecord, Placed | None]]:
    """A page's stock records in the order of the levels they land on, each with where it lands (none where that
    cannot be told: applying it refuses it); records on one level keep the ERP's order (the first sets a new level,
    the others find it shared)."""
    set_before = await _levels(conn, [m.local_id for m in known.values()])
    keys: list[tuple[int, UUID, UUID] | tuple[int]] = []
    places: list[Placed | None] = []
    for record in records:
        found = await _landing(conn, scope, record)
        if found is None:
            keys.append(_UNKNOWN)
            places.append(None)
            continue
        product_id, warehouse_id = found
        mapped = known.get(record.external_id)
        left = set_before.get(mapped.local_id) if mapped is not None else None
        keys.append((0, product_id, warehouse_id))
        places.append(Placed(product_id, warehouse_id, left if left != (product_id, warehouse_id) else None))
    order = sorted(range(len(records)), key=lambda i: keys[i])
    return [(records[i], places[i]) for i in order]


async def place(conn: asyncpg.Connection, scope: SyncScope, model: StockRecord, known: Mapped | None) -> Placed:
    """Where a record ``in_level_order`` could not place lands; refuses it where that cannot be told."""
    product_id = await require(conn, scope, Entity.PRODUCTS, model.product_external_id)
    warehouse_id = await warehouse(conn, scope, model.warehouse_external_id, model.warehouse_code)
    left = (await _levels(conn, [known.local_id])).get(known.local_id) if known is not None else None
    return Placed(product_id, warehouse_id, left if left != (product_id, warehouse_id) else None)


async def take_levels(
    conn: asyncpg.Connection, tenant_id: UUID, levels: Iterable[Level], made: Collection[Level] = ()
) -> None:
    """Lock these levels in the order of every write of stock, each once its expired holds are released; those in
    ``made`` are made at zero where missing, so that they too are taken in their turn (a level made later, while
    others are held, is taken out of order: a receipt making it too waits on its key)."""
    for product_id, warehouse_id in sorted(set(levels)):
        await release_expired(conn, product_id, warehouse_id)
        if (product_id, warehouse_id) in made:
            await lock_levels(conn, tenant_id, [(product_id, warehouse_id)])
        else:
            await conn.execute(
                "SELECT 1 FROM app.stock_levels WHERE product_id = $1 AND warehouse_id = $2 FOR UPDATE",
                product_id,
                warehouse_id,
            )


async def lock_settled_levels(conn: asyncpg.Connection, scope: SyncScope, left: list[UUID]) -> None:
    """Before a snapshot's close settles them: the levels ``left`` by records the snapshot no longer reports, and
    those several of the connector's records share."""
    rows = await conn.fetch(
        """SELECT l.product_id, l.warehouse_id FROM app.stock_levels l
           WHERE l.id = ANY($3::uuid[])
              OR l.id IN (SELECT local_id FROM app.integration_external_ids WHERE connector_id = $1 AND entity = $2
                          GROUP BY local_id HAVING count(*) > 1)""",
        scope.connector_id,
        Entity.STOCK.value,
        left,
    )
    await take_levels(conn, scope.tenant_id, [(row["product_id"], row["warehouse_id"]) for row in rows])


async def _landing(conn: asyncpg.Connection, scope: SyncScope, record: SourceRecord) -> Level | None:
    try:
        model = StockRecord.model_validate({**record.fields, "external_id": record.external_id})
    except ValidationError:
        return None
    names = (model.product_external_id, model.warehouse_external_id or "", model.warehouse_code or "")
    if any("\x00" in name for name in names):
        return None
    product_id = await local_id(conn, scope, Entity.PRODUCTS, model.product_external_id)
    if product_id is None:
        return None
    try:
        return product_id, await warehouse(conn, scope, model.warehouse_external_id, model.warehouse_code)
    except DomainError:  # unmapped: refused again, and dead-lettered, when the record is applied
        return None


async def _levels(conn: asyncpg.Connection, level_ids: list[UUID]) -> dict[UUID, Level]:
    """The product and warehouse of each of these levels (neither ever changes: migration 0141)."""
    if not level_ids:
        return {}
    rows = await conn.fetch(
        "SELECT id, product_id, warehouse_id FROM app.stock_levels WHERE id = ANY($1::uuid[])", level_ids
    )
    return {row["id"]: (row["product_id"], row["warehouse_id"]) for row in rows}
