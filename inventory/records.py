"""Rows as the domain functions return them: one row a statement must give, one row looked up by key, ids as
text."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import asyncpg

from common.errors import ConflictError, NotFoundError, NumberTakenMeanwhileError


async def one_row(conn: asyncpg.Connection, sql: str, *args: Any) -> dict[str, Any]:
    """The row of a statement that always returns one (``INSERT ... RETURNING``, a row just written)."""
    row = await conn.fetchrow(sql, *args)
    assert row is not None
    return dict(row)


async def row_or_missing(
    conn: asyncpg.Connection, sql: str, key: Any, *, what: str, code: str | None = None
) -> dict[str, Any]:
    """The row ``sql`` finds for ``key``; ``NotFoundError`` "<what> <key> not found" when there is none."""
    row = await conn.fetchrow(sql, key)
    if row is None:
        raise NotFoundError(f"{what} {key} not found", code=code)
    return dict(row)


def unknown_reference(
    exc: asyncpg.ForeignKeyViolationError, references: Mapping[str, Any], *, context: str = ""
) -> NotFoundError:
    """The row a write referred to that does not exist, named from the violated constraint.

    ``references`` maps each referenced kind (``product``, ``purchase_order``) to the id the caller sent, or
    None when a write refers to many (then "unknown <kind><context>"). PostgreSQL names a foreign key after its
    columns (``..._product_id_fkey``), which is how the kind is found.
    """
    constraint = exc.constraint_name or ""
    for kind, key in references.items():
        if f"{kind}_id" in constraint:
            label = kind.replace("_", " ")
            message = f"{label} {key} not found" if key is not None else f"unknown {label}{context}"
            return NotFoundError(message, code=f"unknown_{kind}")
    return NotFoundError(f"a row this write refers to does not exist ({constraint})", code="unknown_reference")


@contextmanager
def write_refusals(duplicate: str, references: Mapping[str, Any], *, context: str = "") -> Iterator[None]:
    """The database's refusals of the write inside as domain errors: a unique key already taken is a
    ``ConflictError`` (``duplicate``) saying ``duplicate``; a missing referenced row is ``unknown_reference``'s.
    A document number the counter gave that a write still in flight took meanwhile (an ERP sync's order numbered
    like ours) is retried whole by ``Database.run``, and the counter then skips it."""
    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        if (exc.constraint_name or "").endswith("_tenant_id_number_key"):
            raise NumberTakenMeanwhileError("the document number was taken meanwhile; retry") from exc
        raise ConflictError(duplicate, code="duplicate") from exc
    except asyncpg.ForeignKeyViolationError as exc:
        raise unknown_reference(exc, references, context=context) from exc


def ids_of(row: Mapping[str, Any] | asyncpg.Record, *columns: str) -> dict[str, str]:
    """The ``columns`` of ``row`` (ids) as text, by name: for payloads that carry ids as strings."""
    return {column: str(row[column]) for column in columns}


# What a purchase may name, and the column that names each row to a person.
_LABELS = {
    "supplier": ("app.suppliers", "code"),
    "warehouse": ("app.warehouses", "code"),
    "product": ("app.products", "sku"),
}


async def refuse_inactive(
    conn: asyncpg.Connection, kind: str, row_id: Any, *, where: str = "", lock: bool = False
) -> None:
    """A ``ConflictError`` (``inactive_<kind>``) when the supplier, warehouse or product ``row_id`` is
    deactivated: a new order must not name what the tenant stopped using (Odoo and ERPNext refuse archived or
    disabled vendors and items). An unknown id passes: the write's foreign key names it. ``lock`` holds the row
    until commit, so a deactivation in flight is waited for and read, and one that comes later waits for the write
    (a rule that a deactivation's trigger must then find)."""
    table, label = _LABELS[kind]
    locking = " FOR SHARE" if lock else ""
    row = await conn.fetchrow(f"SELECT active, {label} AS label FROM {table} WHERE id = $1{locking}", row_id)
    if row is not None and not row["active"]:
        raise ConflictError(
            f"{where}{kind} {row['label']} is inactive: reactivate it or choose another", code=f"inactive_{kind}"
        )
