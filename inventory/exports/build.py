"""Prepare an export inside the caller's open transaction: everything that can be refused (filters,
sort, size) is checked before the first byte is sent, so a bad request is a 4xx, never a broken 200."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg

from common.errors import InvalidInputError
from inventory.exports.datasets import Dataset, ExportFormat, export_sql, stream_rows
from inventory.exports.labels import describe_filter, header, id_filter_tables, pdf_columns
from inventory.exports.writers import PDF_MAX_ROWS, XLSX_MAX_ROWS, csv_chunks, pdf_report, xlsx_chunks
from inventory.listing import ListQuery
from inventory.schemas import zone_name

Labels = Literal["keys", "human"]

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
) -> PreparedExport:
    """``labels="human"`` writes CSV and xlsx headings as the PDF shows them ('On hand', not 'on_hand'). Times
    are written in ``now``'s time zone (the reader's)."""
    export_sql(dataset, query)  # refuses unknown filters and sorts now, not mid-stream
    filename = f"{dataset.name}-{now:%Y%m%d-%H%M%S}.{fmt.value}"
    zone = now.tzinfo or UTC
    if fmt is ExportFormat.CSV:
        chunks = csv_chunks(header(dataset.columns, labels), await _started(conn, dataset, query), zone)
    elif fmt is ExportFormat.XLSX:
        await _refuse_past_a_worksheet(conn, dataset, query)
        headings = header(dataset.columns, labels, zone_name(zone))
        chunks = xlsx_chunks(dataset.title, headings, await _started(conn, dataset, query), zone)
    else:
        chunks = _single(await _pdf(conn, dataset, query, now))
    return PreparedExport(chunks, MEDIA_TYPES[fmt], filename)


async def _refuse_past_a_worksheet(conn: asyncpg.Connection, dataset: Dataset, query: ListQuery) -> None:
    """A set with more rows than a worksheet holds is refused before the 200: until 2026-12-07 the rows past
    it were left out of the file without a word (xlsxwriter drops them)."""
    sql, params = export_sql(dataset, query)
    past = await conn.fetchval(
        f"SELECT EXISTS (SELECT FROM ({sql}) AS export_rows OFFSET ${len(params) + 1})", *params, XLSX_MAX_ROWS
    )
    if past:
        raise InvalidInputError(
            f"an xlsx worksheet holds at most {XLSX_MAX_ROWS:,} rows and this export has more: narrow the filters "
            "or export CSV",
            code="export_too_large",
        )


async def _started(conn: asyncpg.Connection, dataset: Dataset, query: ListQuery) -> AsyncIterator[list[tuple]]:
    """The rows' batches with the first one already fetched: a value the database refuses (a NUL character in
    ``q``, a number past a column's range) fails the request here, before its 200, not the body mid-stream."""
    batches = stream_rows(conn, dataset, query)
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


async def _stock_value_chart(
    conn: asyncpg.Connection, dataset: Dataset, rows: list[tuple]
) -> tuple[str, list[tuple[str, float]]]:
    """Stock value (on hand x unit cost) by warehouse and cost currency, over exactly the exported rows; the
    caption counts the rows it cannot value (no unit cost, or a cost of unknown currency) instead of valuing
    them at 0, and currencies are never summed together."""
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
    value: dict[tuple[str, str], float] = defaultdict(float)
    unvalued = 0
    for row in rows:
        cost, currency = costs.get(row[product_at], (None, None))
        if cost is None or currency is None:
            unvalued += 1
            continue
        value[(row[warehouse_at], currency)] += float(row[on_hand_at] * cost)
    currencies = sorted({currency for _, currency in value})
    if len(currencies) == 1:
        caption = f"Stock value by warehouse ({currencies[0]})"
        bars = [(warehouse, amount) for (warehouse, _), amount in sorted(value.items())]
    else:
        caption = "Stock value by warehouse and cost currency"
        bars = [(f"{warehouse} ({currency})", amount) for (warehouse, currency), amount in sorted(value.items())]
    if unvalued:
        caption += f"; {unvalued} row{'s' if unvalued > 1 else ''} without a unit cost in a known currency left out"
    return caption, bars


async def _single(body: bytes) -> AsyncIterator[bytes]:
    yield body
