"""Create, read, update, delete and list for the catalogue tables: products, suppliers, warehouses.

The three differ only in their columns and natural key, so one ``CatalogEntity`` describes each and the
functions below serve all three. Tenant scoping is enforced by row-level security; the explicit
``tenant_id`` on inserts is what the policies check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from pydantic import BaseModel

from common.errors import ConflictError, DomainError, InvalidInputError, NotFoundError
from inventory.listing import COUNTRY_CODE, CURRENCY_CODE, KnownValues, Listing, ListQuery, Page


@dataclass(frozen=True)
class CatalogEntity:
    label: str  # "product"
    natural_key: str  # the per-tenant unique code: "sku" or "code"
    listing: Listing

    @property
    def table(self) -> str:
        return self.listing.table


_COMMON = ("id", "active", "created_at", "updated_at")

PRODUCTS = CatalogEntity(
    label="product",
    natural_key="sku",
    listing=Listing(
        table="app.products",
        columns=(
            "sku",
            "name",
            "description",
            "category",
            "unit_of_measure",
            "unit_cost",
            "unit_cost_currency",
            "lot_tracked",
            *_COMMON,
        ),
        sortable={"sku": str, "name": str, "created_at": datetime, "updated_at": datetime},
        default_sort="sku",
        equality_filters={"category": "text", "active": "boolean", "unit_of_measure": "text"},
        search_columns=("sku", "name"),
    ),
)


def _known_by_code(
    label: str,
    table: str,
    own_columns: tuple[str, ...],
    own_filters: dict[str, str],
    *,
    presence_filters: dict[str, str] | None = None,
    known_values: dict[str, KnownValues] | None = None,
    also_searched: tuple[str, ...] = (),
) -> CatalogEntity:
    """A supplier or a warehouse: known by its code, name and country (``catalog_schemas._CodedCreate``), listed by
    code, name or age, filtered by country and whether active, searched by code and name; the rest is its own."""
    return CatalogEntity(
        label=label,
        natural_key="code",
        listing=Listing(
            table=table,
            columns=("code", "name", "country", *own_columns, *_COMMON),
            sortable={"code": str, "name": str, "created_at": datetime},
            default_sort="code",
            equality_filters={"country": "text", **own_filters, "active": "boolean"},
            known_values={"country": COUNTRY_CODE, **(known_values or {})},
            presence_filters=presence_filters or {},
            search_columns=("code", "name", *also_searched),
        ),
    )


SUPPLIERS = _known_by_code(
    "supplier",
    "app.suppliers",
    ("email", "lead_time_days", "currency"),
    {"currency": "text"},
    known_values={"currency": CURRENCY_CODE},
)
WAREHOUSES = _known_by_code(
    "warehouse",
    "app.warehouses",
    ("city", "timezone"),
    {"timezone": "text"},
    presence_filters={"has_timezone": "timezone"},  # the warehouses whose zone is still to be given
    also_searched=("city",),
)


async def create(conn: asyncpg.Connection, entity: CatalogEntity, tenant_id: UUID, data: BaseModel) -> dict:
    values = data.model_dump()
    placeholders = ", ".join(f"${i}" for i in range(2, len(values) + 2))
    insert = f"INSERT INTO {entity.table} (tenant_id, {', '.join(values)}) VALUES ($1, {placeholders})"
    row = await _write(conn, entity, insert, tenant_id, values)
    assert row is not None
    return dict(row)


async def get(conn: asyncpg.Connection, entity: CatalogEntity, entity_id: UUID) -> dict:
    row = await conn.fetchrow(
        f"SELECT {', '.join(entity.listing.columns)} FROM {entity.table} WHERE id = $1", entity_id
    )
    if row is None:
        raise NotFoundError(f"{entity.label} {entity_id} not found")
    return dict(row)


async def update(conn: asyncpg.Connection, entity: CatalogEntity, entity_id: UUID, changes: BaseModel) -> dict:
    values: dict[str, Any] = changes.model_dump(exclude_unset=True)
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(values, start=2))
    row = await _write(
        conn, entity, f"UPDATE {entity.table} SET {assignments}, updated_at = now() WHERE id = $1", entity_id, values
    )
    if row is None:
        raise NotFoundError(f"{entity.label} {entity_id} not found")
    return dict(row)


async def _write(
    conn: asyncpg.Connection, entity: CatalogEntity, statement: str, first: Any, values: dict[str, Any]
) -> asyncpg.Record | None:
    """The row ``statement`` (an insert or update taking ``first``, then ``values`` from $2) writes, as listed; a
    taken natural key or a value the table refuses as a domain error."""
    try:
        return await conn.fetchrow(
            f"{statement} RETURNING {', '.join(entity.listing.columns)}", first, *values.values()
        )
    except asyncpg.UniqueViolationError as exc:
        raise _duplicate(entity, values) from exc
    except asyncpg.CheckViolationError as exc:
        raise _refused(exc, values) from exc


async def delete(conn: asyncpg.Connection, entity: CatalogEntity, entity_id: UUID) -> None:
    # An ERP connector's map names the row by id, not by a foreign key: deleted, the ERP's later stock and orders
    # for it would refer to nothing (a sync creates it again only when the ERP next sends it). One probe of the
    # maps' (tenant, connector, entity, local) index per connector.
    connector = await conn.fetchval(
        f"""SELECT c.name FROM {entity.table} t
            JOIN app.integration_connectors c ON c.tenant_id = t.tenant_id
            JOIN app.integration_external_ids x ON x.tenant_id = c.tenant_id AND x.connector_id = c.id
                 AND x.entity = $2 AND x.local_id = t.id
            WHERE t.id = $1 LIMIT 1""",
        entity_id,
        entity.table.removeprefix("app."),
    )
    if connector is not None:
        raise _in_use(entity, entity_id, "integration_external_ids", f"ERP connector {connector!r}, which syncs it,")
    try:
        status = await conn.execute(f"DELETE FROM {entity.table} WHERE id = $1", entity_id)
    except asyncpg.ForeignKeyViolationError as exc:
        # The violated key's table is what still names the row: a draft's order line or a reorder rule blocks a
        # delete as stock history does, and the caller is told which (PostgreSQL reports the first it checks).
        table = exc.table_name or ""
        raise _in_use(entity, entity_id, table or None, table.replace("_", " ") or "other records") from exc
    if status == "DELETE 0":
        raise NotFoundError(f"{entity.label} {entity_id} not found")


def _in_use(entity: CatalogEntity, entity_id: UUID, table: str | None, used_by: str) -> ConflictError:
    return ConflictError(
        f"{entity.label} {entity_id} is used by {used_by} and cannot be deleted; set active to false instead",
        code="in_use",
        details={"used_by": table},
    )


async def list_page(conn: asyncpg.Connection, entity: CatalogEntity, query: ListQuery) -> Page:
    sql, params = entity.listing.build(query)
    rows = await conn.fetch(sql, *params)
    return entity.listing.page(rows, query)


def _duplicate(entity: CatalogEntity, values: dict[str, Any]) -> ConflictError:
    key = values.get(entity.natural_key)
    return ConflictError(
        f"a {entity.label} with {entity.natural_key} {key!r} already exists",
        code="duplicate",
        details={"field": entity.natural_key, "value": key},
    )


def _refused(exc: asyncpg.CheckViolationError, values: dict[str, Any]) -> DomainError:
    if exc.constraint_name == "products_unit_in_use":  # migration 0124: its stock and orders count in it
        return ConflictError(
            f"{exc.args[0] if exc.args else exc}; create a product in the new unit instead", code="unit_in_use"
        )
    # The API validates a time zone against Python's IANA list; the database's own list can lack a new name.
    if exc.constraint_name == "warehouses_timezone_known":
        zone = values.get("timezone")
        return InvalidInputError(
            f"time zone {zone!r} is not in the database's time zone list", details={"field": "timezone", "value": zone}
        )
    return InvalidInputError(f"the database refused the values: {exc.constraint_name}")
