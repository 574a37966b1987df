"""What each export contains: the list endpoint's ``Listing`` (so the same filters and sorts apply), the
columns written, and the narrower set that fits a PDF page."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import asyncpg

from common.errors import InvalidInputError, NotFoundError
from inventory import catalog, purchasing, shipments, stock
from inventory.listing import Listing, ListQuery

# Far above any real tenant's export; a guard against runaway requests, not a page size. A larger set is refused
# before the first byte (``build.prepare``), never cut short; the API takes it from ``EXPORT_MAX_ROWS``.
MAX_EXPORT_ROWS = 5_000_000
FETCH_BATCH = 2000


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    PDF = "pdf"


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    listing: Listing
    columns: tuple[str, ...]
    pdf_columns: tuple[str, ...]


DATASETS = {
    d.name: d
    for d in (
        Dataset(
            "products",
            "Products",
            catalog.PRODUCTS.listing,
            (
                "id",
                "sku",
                "name",
                "category",
                "unit_of_measure",
                "unit_cost",
                "unit_cost_currency",
                "lot_tracked",
                "active",
                "created_at",
            ),
            ("sku", "name", "category", "unit_of_measure", "unit_cost", "active"),
        ),
        Dataset(
            "stock-levels",
            "Stock levels",
            stock.LEVELS,
            (
                "product_id",
                "sku",
                "product_name",
                "unit_of_measure",
                "warehouse_id",
                "warehouse_code",
                "on_hand",
                "reserved",
                "available",
                "updated_at",
            ),
            ("sku", "product_name", "warehouse_code", "on_hand", "reserved", "available"),
        ),
        Dataset(
            "stock-movements",
            "Stock movements",
            stock.MOVEMENTS,
            (
                "id",
                "product_id",
                "warehouse_id",
                "movement_type",
                "quantity",
                "reference",
                "reason",
                "occurred_at",
                "created_at",
            ),
            ("occurred_at", "sku", "movement_type", "quantity", "reference"),  # sku and unit looked up for PDF
        ),
        Dataset(
            "purchase-orders",
            "Purchase orders",
            purchasing.ORDERS,
            (
                "id",
                "number",
                "status",
                "supplier_code",
                "warehouse_code",
                "currency",
                "expected_date",
                "incoterm",
                "line_count",
                "total_amount",
                "created_at",
            ),
            ("number", "status", "supplier_code", "warehouse_code", "expected_date", "total_amount", "currency"),
        ),
        Dataset(
            "shipments",
            "Shipments",
            shipments.SHIPMENTS,
            (
                "id",
                "number",
                "direction",
                "status",
                "carrier",
                "tracking_number",
                "order_reference",
                "expected_delivery",
                "delivered_at",
                "created_at",
            ),
            ("number", "direction", "status", "carrier", "tracking_number", "delivered_at"),
        ),
    )
}


def resolve(name: str) -> tuple[Dataset, ExportFormat]:
    """``stock-movements.csv`` -> the dataset and format, or a precise 4xx."""
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        raise InvalidInputError(f"name the format as a suffix, e.g. /exports/{name}.csv", code="unknown_format")
    dataset = DATASETS.get(stem)
    if dataset is None:
        raise NotFoundError(f"unknown export {stem!r}; available: {', '.join(sorted(DATASETS))}", code="unknown_export")
    try:
        return dataset, ExportFormat(suffix)
    except ValueError as exc:
        formats = ", ".join(f.value for f in ExportFormat)
        raise InvalidInputError(
            f"unknown export format {suffix!r}; use one of {formats}", code="unknown_format"
        ) from exc


class ExportGrewError(RuntimeError):
    """More rows than the cap while streaming, after a count found them within it (rows committed in between): the
    download is broken off, so the client sees a failed transfer rather than a file that looks complete."""


def export_sql(
    dataset: Dataset, query: ListQuery, max_rows: int = MAX_EXPORT_ROWS, ordered: bool = True
) -> tuple[str, list[Any]]:
    """The caller's query (its filters, search, sort and zone), without paging: the whole set, and one row past
    ``max_rows`` so that a larger set shows. ``ordered=False`` leaves the sort out, for a count."""
    return dataset.listing.build(replace(query, limit=max_rows, cursor=None), ordered=ordered)


async def stream_rows(
    conn: asyncpg.Connection,
    dataset: Dataset,
    query: ListQuery,
    columns: Sequence[str] | None = None,
    max_rows: int = MAX_EXPORT_ROWS,
) -> AsyncIterator[list[tuple]]:
    """Batches of rows (tuples in ``columns`` order) from a server-side cursor: memory stays flat. Raises
    ``ExportGrewError`` at a row past ``max_rows``, never ends early."""
    sql, params = export_sql(dataset, query, max_rows)
    wanted = tuple(columns or dataset.columns)
    batch: list[tuple] = []
    seen = 0
    async for record in conn.cursor(sql, *params, prefetch=FETCH_BATCH):
        seen += 1
        if seen > max_rows:
            raise ExportGrewError(f"the export grew past {max_rows:,} rows after it was counted; broken off")
        batch.append(tuple(record[c] for c in wanted))
        if len(batch) >= FETCH_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
