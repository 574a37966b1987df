"""Prepare an export inside the caller's open transaction: everything that can be refused (filters,
sort, size) is checked before the first byte is sent, so a bad request is a 4xx, never a broken 200."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

import asyncpg

from common.errors import InvalidInputError
from inventory.exports.datasets import MAX_EXPORT_ROWS, Dataset, ExportFormat, export_sql, stream_rows
from inventory.exports.labels import describe_filter, header, id_filter_tables, pdf_columns
from inventory.exports.writers import (
    PDF_MAX_ROWS,
    XLSX_MAX_ROWS,
    XLSX_MAX_TEXT,
    Bar,
    csv_chunks,
    pdf_report,
    xlsx_chunks,
)
from inventory.listing import ListQuery
from inventory.schemas import zone_name

Labels = Literal["keys", "human"]
COUNT_TIMEOUT = "120s"  # the up-front count of an export of up to EXPORT_MAX_ROWS rows

MEDIA_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.PDF: "application/pdf",
}


@dataclass(frozen=True)
class PreparedExport:
    chunks: AsyncIterator[bytes]
    media_type: str
    filename: str


async def prepare(
    conn: asyncpg.Connection,
    dataset: Dataset,
    fmt: ExportFormat,
    query: ListQuery,
    now: datetime,
    labels: Labels = "keys",
    max_rows: int = MAX_EXPORT_ROWS,
    bom: bool | None = None,
) -> PreparedExport:
    """``labels="human"`` writes CSV and xlsx headings as the PDF shows them ('On hand', not 'on_hand'). ``bom``:
    whether a CSV starts with a UTF-8 byte-order mark; by default one with human labels does (it is for people,
    whose Excel reads a CSV without one in the ANSI code page), one with field names does not (for programs, whose
    UTF-8 reader would take the mark for part of the first heading); xlsx and PDF have none. Times
    are written in ``now``'s time zone (the reader's). A CSV or xlsx set of more than ``max_rows`` rows is refused
    here, as an xlsx one past a worksheet's rows or with a text past a cell's limit: never a shorter file."""
    export_sql(dataset, query)  # refuses unknown filters and sorts now, not mid-stream
    filename = f"{dataset.name}-{now:%Y%m%d-%H%M%S}.{fmt.value}"
    zone = now.tzinfo or UTC
    if fmt is ExportFormat.CSV:
        await _refuse_what_does_not_fit(conn, dataset, fmt, query, max_rows)
        batches = await _started(conn, dataset, query, max_rows)
        marked = labels == "human" if bom is None else bom
        chunks = csv_chunks(header(dataset.columns, labels), batches, zone, marked)
    elif fmt is ExportFormat.XLSX:
        await _refuse_what_does_not_fit(conn, dataset, fmt, query, max_rows)
        headings = header(dataset.columns, labels, zone_name(zone))
        chunks = xlsx_chunks(dataset.title, headings, await _started(conn, dataset, query, max_rows), zone)
    else:
        chunks = _single(await _pdf(conn, dataset, query, now))
    return PreparedExport(chunks, MEDIA_TYPES[fmt], filename)


async def _refuse_what_does_not_fit(
    conn: asyncpg.Connection, dataset: Dataset, fmt: ExportFormat, query: ListQuery, max_rows: int
) -> None:
    """One unsorted count that stops a row past the cap (and, for xlsx, counts texts past a cell's limit), before
    the 200. Until 2026-12-07 a CSV or xlsx export stopped at 5,000,000 rows and xlsx cut a text at 32,767
    characters, both without a word; the worksheet's rows were checked by a sorted probe of the whole set."""
    sheet = fmt is ExportFormat.XLSX
    cap = min(max_rows, XLSX_MAX_ROWS) if sheet else max_rows
    sql, params = export_sql(dataset, query, cap, ordered=False)
    texts = await _text_columns(conn, dataset, query) if sheet else []
    too_long = " OR ".join(f"{_utf16_length(c)} > {XLSX_MAX_TEXT}" for c in texts) or "false"
    async with _longer_statements(conn, COUNT_TIMEOUT):
        counted = await conn.fetchrow(
            f"SELECT count(*) AS n, count(*) FILTER (WHERE {too_long}) AS too_long FROM ({sql}) AS export_rows", *params
        )
    rows, long_texts = counted if counted is not None else (0, 0)  # an aggregate always returns its one row
    narrow = {"filters": sorted(dataset.listing.filter_names)}
    if rows > max_rows:
        raise InvalidInputError(
            f"an export holds at most {max_rows:,} rows and this one has more: narrow it with the list's filters "
            f"({', '.join(narrow['filters'])})",
            code="export_too_large",
            details={"max_rows": max_rows, **narrow},
        )
    if rows > XLSX_MAX_ROWS:
        raise InvalidInputError(
            f"an xlsx worksheet holds at most {XLSX_MAX_ROWS:,} rows and this export has more: narrow the filters "
            "or export CSV",
            code="export_too_large",
            details={"max_rows": XLSX_MAX_ROWS, **narrow},
        )
    if long_texts:
        await _refuse_a_long_text(conn, dataset, query, texts)


@asynccontextmanager
async def _longer_statements(conn: asyncpg.Connection, limit: str) -> AsyncIterator[None]:
    """``statement_timeout`` raised to ``limit`` inside the caller's transaction, then put back: counting a set of
    millions of rows takes longer than a request's statements may (15 s by default), and an export within the cap
    must not fail for it with a 503 that the stream, whose first rows come at once, never met."""
    before = await conn.fetchval("SELECT current_setting('statement_timeout')")
    await conn.execute("SELECT set_config('statement_timeout', $1, true)", limit)
    yield
    # Put back only after a count that succeeded: one that failed aborted the transaction, where any statement would
    # raise InFailedSQLTransactionError in place of the count's own error (a 503 or 422 turned into a 500).
    await conn.execute("SELECT set_config('statement_timeout', $1, true)", before)


async def _text_columns(conn: asyncpg.Connection, dataset: Dataset, query: ListQuery) -> list[str]:
    """The exported columns of a text type: only these can hold more than a cell takes (the statement is described,
    not run)."""
    statement = await conn.prepare(export_sql(dataset, query)[0])
    return [a.name for a in statement.get_attributes() if a.name in dataset.columns and a.type.name in _TEXT_TYPES]


_TEXT_TYPES = frozenset({"text", "varchar", "bpchar", "citext", "name"})


def _utf16_length(column: str) -> str:
    """SQL for a text's length as Excel counts it, in UTF-16 units: a character past U+FFFF counts twice (looked
    for only in a text long enough to matter). ``column`` is a trusted name, never request input."""
    return (
        f"CASE WHEN length({column}) > {XLSX_MAX_TEXT // 2} "
        f"THEN length({column}) + length(regexp_replace({column}, '[\\u0001-\\uffff]', '', 'g')) "
        f"ELSE length({column}) END"
    )


async def _refuse_a_long_text(conn: asyncpg.Connection, dataset: Dataset, query: ListQuery, texts: list[str]) -> None:
    """Names the first row, in the export's order, with a text past a cell's limit, and its column."""
    sql, params = export_sql(dataset, query)
    lengths = ", ".join(f"{_utf16_length(c)} AS {c}" for c in texts)
    row = await conn.fetchrow(
        f"SELECT * FROM (SELECT id, {lengths} FROM ({sql}) AS export_rows) AS measured "
        f"WHERE {' OR '.join(f'{c} > {XLSX_MAX_TEXT}' for c in texts)} LIMIT 1",
        *params,
    )
    if row is None:
        return  # changed since the count: the writer breaks the download off rather than cut the text
    column = next(c for c in texts if (row[c] or 0) > XLSX_MAX_TEXT)
    raise InvalidInputError(
        f"an xlsx cell holds at most {XLSX_MAX_TEXT:,} characters and {column} of row {row['id']} has "
        f"{row[column]:,}: export CSV, which keeps the whole text, or narrow the filters to leave that row out",
        code="export_text_too_long",
        details={"id": str(row["id"]), "column": column, "length": row[column], "max_length": XLSX_MAX_TEXT},
    )


async def _started(
    conn: asyncpg.Connection, dataset: Dataset, query: ListQuery, max_rows: int
) -> AsyncIterator[list[tuple]]:
    """The rows' batches with the first one already fetched: a value the database refuses (a NUL character in
    ``q``, a number past a column's range) fails the request here, before its 200, not the body mid-stream."""
    batches = stream_rows(conn, dataset, query, max_rows=max_rows)
    first = await anext(batches, None)

    async def all_batches() -> AsyncIterator[list[tuple]]:
        if first is not None:
            yield first
        async for batch in batches:
            yield batch

    return all_batches()


async def _pdf(conn: asyncpg.Connection, dataset: Dataset, query: ListQuery, now: datetime) -> bytes:
    rows: list[tuple] = []
    async for batch in stream_rows(conn, dataset, query):
        rows.extend(batch)
        if len(rows) > PDF_MAX_ROWS:
            raise InvalidInputError(
                f"a PDF holds at most {PDF_MAX_ROWS} rows and this export has more: narrow the filters or "
                "export CSV or xlsx",
                code="export_too_large",
            )
    tenant = await conn.fetchval("SELECT name FROM app.tenants") or "?"
    records = await _with_product_units(conn, [dict(zip(dataset.columns, r, strict=True)) for r in rows])
    chart = await _stock_value_chart(conn, dataset, rows) if dataset.name == "stock-levels" else None
    title = f"{dataset.title} report"
    filter_text = describe_filter(query, await _filter_names(conn, query))
    return pdf_report(title, tenant, now, filter_text, pdf_columns(dataset.pdf_columns), records, chart)


async def _with_product_units(conn: asyncpg.Connection, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows that name a product but not its SKU or unit (stock movements) get both, so quantities carry units."""
    if not records or "product_id" not in records[0] or "unit_of_measure" in records[0]:
        return records
    products = {
        r["id"]: r
        for r in await conn.fetch(
            "SELECT id, sku, unit_of_measure FROM app.products WHERE id = ANY($1::uuid[])",
            list({r["product_id"] for r in records}),
        )
    }
    for record in records:
        product = products.get(record["product_id"])
        record.setdefault("sku", product["sku"] if product else None)
        record["unit_of_measure"] = product["unit_of_measure"] if product else None
    return records


async def _filter_names(conn: asyncpg.Connection, query: ListQuery) -> dict[str, str]:
    """The codes of the products, warehouses and suppliers a filter names by id (visible to the caller)."""
    names: dict[str, str] = {}
    for key, (table, column) in id_filter_tables().items():
        if key in query.filters:
            # table and column come from a fixed map, never from the request
            shown = await conn.fetchval(f"SELECT {column} FROM app.{table} WHERE id = $1", query.filters[key])
            if shown is not None:
                names[str(query.filters[key])] = str(shown)
    return names


async def _stock_value_chart(conn: asyncpg.Connection, dataset: Dataset, rows: list[tuple]) -> tuple[str, list[Bar]]:
    """Stock value (on hand x unit cost, exact) by warehouse and cost currency, over exactly the exported rows; the
    caption counts the rows it cannot value (no unit cost, or a cost of unknown currency) instead of valuing
    them at 0, and currencies are never summed together. With nothing valued the caption says so, over no bars."""
    product_at = dataset.columns.index("product_id")
    warehouse_at = dataset.columns.index("warehouse_code")
    on_hand_at = dataset.columns.index("on_hand")
    costs = {
        r["id"]: (r["unit_cost"], r["unit_cost_currency"])
        for r in await conn.fetch(
            "SELECT id, unit_cost, unit_cost_currency FROM app.products WHERE id = ANY($1::uuid[])",
            list({r[product_at] for r in rows}),
        )
    }
    value: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    unvalued = 0
    for row in rows:
        cost, currency = costs.get(row[product_at], (None, None))
        if cost is None or currency is None:
            unvalued += 1
            continue
        value[(row[warehouse_at], currency)] += row[on_hand_at] * cost
    if not value:
        return _nothing_valued(len(rows)), []
    currencies = sorted({currency for _, currency in value})
    if len(currencies) == 1:
        caption = f"Stock value by warehouse ({currencies[0]})"
        bars = [(warehouse, amount, currency) for (warehouse, currency), amount in sorted(value.items())]
    else:
        caption = "Stock value by warehouse and cost currency"
        bars = [
            (f"{warehouse} ({currency})", amount, currency) for (warehouse, currency), amount in sorted(value.items())
        ]
    if unvalued:
        caption += f"; {unvalued} row{'s' if unvalued > 1 else ''} without a unit cost in a known currency left out"
    return caption, bars


def _nothing_valued(rows: int) -> str:
    if not rows:
        return "Stock value: nothing to value, the export has no rows"
    if rows == 1:
        return "Stock value: nothing could be valued, the 1 row has no unit cost in a known currency"
    return f"Stock value: nothing could be valued, none of the {rows:,} rows has a unit cost in a known currency"


async def _single(body: bytes) -> AsyncIterator[bytes]:
    yield body
