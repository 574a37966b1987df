"""A CSV for people starts with a UTF-8 byte-order mark (Excel reads one without it in the ANSI code page), one for
machines does not; the stock-value chart prints amounts as the PDF's tables do, with their currency."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from pypdf import PdfReader

from inventory.exports import writers
from tests.inventory.test_exports import export

BOM = b"\xef\xbb\xbf"
POLISH = "Zakład Łódź Müller"


async def named_tenant(make_tenant, owner_pool):
    tenant = await make_tenant(stock={0: Decimal(2)})
    async with owner_pool.acquire() as conn:
        await conn.execute("UPDATE app.products SET name = $2 WHERE id = $1", tenant.products[0], POLISH)
    return tenant


async def test_a_csv_with_human_labels_starts_with_a_byte_order_mark_excel_reads_as_utf8(
    database, owner_pool, make_tenant
):
    # Before, Excel on Windows showed "Müller" as "MÃ¼ller": it reads a CSV without a BOM in the ANSI code page.
    tenant = await named_tenant(make_tenant, owner_pool)
    body = await export(database, tenant, "products.csv", labels="human")
    assert body.startswith(BOM) and body.count(BOM) == 1
    text = body.decode("utf-8-sig")
    assert text.startswith("ID,SKU,Name,") and POLISH in text


async def test_a_csv_with_field_names_has_no_byte_order_mark(database, owner_pool, make_tenant):
    tenant = await named_tenant(make_tenant, owner_pool)
    body = await export(database, tenant, "products.csv")
    assert body.startswith(b"id,sku,name,") and POLISH in body.decode()


@pytest.mark.parametrize(("labels", "bom", "marked"), [("human", False, False), ("keys", True, True)])
async def test_bom_overrides_what_the_labels_choose(database, owner_pool, make_tenant, labels, bom, marked):
    tenant = await named_tenant(make_tenant, owner_pool)
    body = await export(database, tenant, "products.csv", labels=labels, bom=bom)
    assert body.startswith(BOM) is marked and body.count(BOM) == int(marked)


async def test_an_xlsx_export_is_a_workbook_whatever_bom_says(database, owner_pool, make_tenant):
    tenant = await named_tenant(make_tenant, owner_pool)
    book = await export(database, tenant, "products.xlsx", labels="human", bom=True)
    assert openpyxl.load_workbook(io.BytesIO(book), read_only=True).active is not None


async def batches_of(*batches: list[tuple]) -> AsyncIterator[list[tuple]]:
    for batch in batches:
        yield batch


@pytest.mark.parametrize("batches", [(), ([("a",)], [("b",)], [("c",)])])
async def test_the_mark_leads_the_first_streamed_chunk_only(batches: tuple[Any, ...]):
    chunks = [c async for c in writers.csv_chunks(["name"], batches_of(*batches), bom=True)]
    assert chunks[0].startswith(BOM + b"name")
    assert not any(BOM in chunk for chunk in chunks[1:])
    assert b"".join(chunks).decode("utf-8-sig").split() == ["name", *(row[0] for (row,) in batches)]


def chart_text(pdf: bytes) -> str:
    """The lines from the chart's caption down to the table's heading row."""
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    start = text.index("Stock value")
    return text[start : text.index("SKU Product Warehouse", start)]


async def test_the_stock_value_chart_keeps_the_decimals_and_names_the_currency(database, owner_pool, make_tenant):
    # Before, 1 unit at 0.0049 EUR read "WH-0 0.00", and 1 x 0.0049 + 3 x 0.001 read "0.01".
    washers = await make_tenant(stock={0: Decimal(1)})
    mixed = await make_tenant(stock={0: Decimal(1), 1: Decimal(3)})
    async with owner_pool.acquire() as conn:
        costs = {washers.products[0]: "0.0049", mixed.products[0]: "0.0049", mixed.products[1]: "0.001"}
        await conn.executemany(
            "UPDATE app.products SET unit_cost = $2 WHERE id = $1", [(p, Decimal(c)) for p, c in costs.items()]
        )
    chart = chart_text(await export(database, washers, "stock-levels.pdf"))
    assert "0.0049 EUR" in chart and "0.00\n" not in chart and not chart.rstrip().endswith("0.00")
    chart = chart_text(await export(database, mixed, "stock-levels.pdf"))
    assert "0.0079 EUR" in chart and "0.01" not in chart


async def test_a_stock_report_with_no_rows_says_nothing_could_be_valued(database, make_tenant, owner_pool):
    # Before, the caption "Stock value by warehouse and cost currency" stood above no bars.
    tenant = await make_tenant(stock={0: Decimal(1)})
    pdf = await export(database, tenant, "stock-levels.pdf", {"warehouse_id": tenant.warehouses[1]})
    chart = chart_text(pdf)
    assert "and cost currency" not in chart
    assert "Stock value: nothing to value, the export has no rows" in chart


async def test_a_stock_report_with_no_cost_says_nothing_could_be_valued(database, make_tenant, owner_pool):
    tenant = await make_tenant(stock={0: Decimal(1), 1: Decimal(2)})
    async with owner_pool.acquire() as conn:
        await conn.execute("UPDATE app.products SET unit_cost = NULL WHERE tenant_id = $1", tenant.id)
    chart = chart_text(await export(database, tenant, "stock-levels.pdf"))
    assert "and cost currency" not in chart
    assert "Stock value: nothing could be valued, none of the 2 rows has a unit cost in a known currency" in chart
