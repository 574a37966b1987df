"""Building SuiteQL text safely (quoted literals, numeric id lists, the modification and id keysets), walking a
read's keyset pages and reading NetSuite's error bodies; used by ``integrations.netsuite``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from integrations.errors import ConnectorProtocolError

# The timestamp format the keyset reads and writes (TO_CHAR/TO_TIMESTAMP), in the account's own time zone.
STAMP = "YYYY-MM-DD HH24:MI:SS"


def error_message(response: httpx.Response) -> str:
    """NetSuite's error body as ``CODE: detail`` (every detail), or the start of the raw text."""
    try:
        body = response.json()
        details = body.get("o:errorDetails") or []
        parts = [f"{d.get('o:errorCode', '?')}: {d.get('detail', '')}".strip() for d in details]
        return "; ".join(parts) or str(body.get("title") or "")
    except (ValueError, AttributeError, TypeError):
        return response.text[:200]


def literal(value: str) -> str:
    """A SuiteQL string literal (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def keyset_condition(alias: str, cursor: dict[str, Any] | None) -> str | None:
    """The condition for rows modified after the cursor ``(lastmodified, id)``; None without a cursor."""
    if not cursor or not cursor.get("lastmodified"):
        return None
    stamp = f"TO_TIMESTAMP({literal(str(cursor['lastmodified']))}, '{STAMP}')"
    return (
        f"({alias}.lastmodifieddate > {stamp} OR ({alias}.lastmodifieddate = {stamp} "
        f"AND {alias}.id > {ids_list([str(cursor.get('id'))])}))"
    )


def select_query(
    columns: str, source: str, clauses: list[str], order: tuple[str, ...], *, grouped: bool = False
) -> str:
    """``SELECT columns FROM source`` where every clause holds, ordered by (with ``grouped``, also grouped by)
    the ``order`` columns."""
    return (
        f"SELECT {columns} FROM {source}"
        + (f" WHERE {' AND '.join(clauses)}" if clauses else "")
        + (f" GROUP BY {', '.join(order)}" if grouped else "")
        + f" ORDER BY {', '.join(order)}"
    )


async def pages(
    ask: Callable[[str], Awaitable[dict[str, Any]]], query_after: Callable[[dict[str, Any] | None], str]
) -> AsyncIterator[list[dict[str, Any]]]:
    """The pages of one read, a query per page: ``query_after(None)`` first, then, while NetSuite answers
    ``hasMore``, ``query_after`` the last row read (the next page is a keyset after it, never an offset, so a row
    gone between two pages shifts nothing). An empty page ends the read too."""
    last: dict[str, Any] | None = None
    while True:
        body = await ask(query_after(last))
        rows = body["items"]
        if not rows:
            return
        yield rows
        if not body.get("hasMore"):
            return
        last = rows[-1]


def ids_list(values: list[str]) -> str:
    """A SuiteQL ``IN`` list of internal ids (numeric; anything else is left out)."""
    return ", ".join(str(int(v)) for v in values if str(v).isdigit()) or "0"


def rows_after(keys: tuple[str, ...], row: dict[str, Any]) -> str:
    """The condition for the rows after ``row`` in the order of ``keys`` (``alias.column`` of internal ids, read
    back under the column's name): the keyset of a read's next page. Ascending order puts nulls last, so after a
    value of a key past the first come greater values and nulls; after a null of the last key, nothing more.
    Keys are whole numbers (internal ids, line sequence numbers): a row with another value is refused."""
    condition = _after(keys, row, first=True)
    assert condition is not None  # the first key is never null: _after refuses it
    return condition


def _after(keys: tuple[str, ...], row: dict[str, Any], *, first: bool) -> str | None:
    key, *rest = keys
    value = row.get(key.split(".")[-1])
    if value is None and not first and not rest:
        return None
    if value is None or not str(value).isdigit():
        raise ConnectorProtocolError(f"NetSuite answered a row whose {key} is {value!r}, not a whole number")
    beyond = f"{key} > {value}" if first else f"({key} > {value} OR {key} IS NULL)"
    within = _after(tuple(rest), row, first=False) if rest else None
    return f"({beyond} OR ({key} = {value} AND {within}))" if within else beyond
