"""Exports parsed back (csv module, openpyxl, pypdf) and compared with the database."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import openpyxl
import pytest
from pypdf import PdfReader

from common.errors import InvalidInputError, NotFoundError
from inventory.exports import build, writers
from inventory.exports.datasets import resolve
from inventory.listing import ListQuery
from tests.support.rows import receipt_at

NOW = datetime(2026, 5, 4, 12, 30, tzinfo=UTC)


async def export(
    database, tenant, name: str, filters: dict | None = None, now: datetime = NOW, **options: Any
) -> bytes:
    dataset, fmt = resolve(name)
    async with database.tenant_transaction(tenant.claims(), None) as tx:
        query = ListQuery(limit=1, filters=filters or {})
        prepared = await build.prepare(tx.conn, dataset, fmt, query, now, **options)
        return b"".join([chunk async for chunk in prepared.chunks])


async def stocked_tenant(make_tenant, owner_pool, units: dict[int, str] | None = None):
    tenant = await make_tenant(stock={0: Decimal("12.5"), 1: Decimal(3)}, units=units)
    async with owner_pool.acquire() as conn:
        await conn.execute("UPDATE app.products SET unit_cost = 2 WHERE tenant_id = $1", tenant.id)
        await conn.execute(
            "INSERT INTO app.stock_movements (tenant_id, product_id, warehouse_id, movement_type, quantity) "
            "VALUES ($1, $2, $3, 'receipt', 4)",
            tenant.id,
            tenant.products[0],
            tenant.warehouses[1],
        )
    return tenant


async def test_csv_movements_match_the_ledger_and_honour_filters(database, owner_pool, make_tenant):
    tenant = await stocked_tenant(make_tenant, owner_pool)
    await stocked_tenant(make_tenant, owner_pool)  # another tenant's rows must not appear
    rows = list(csv.DictReader(io.StringIO((await export(database, tenant, "stock-movements.csv")).decode())))
    async with owner_pool.acquire() as conn:
        ledger = await conn.fetch(
            "SELECT id, quantity FROM app.stock_movements WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC",
            tenant.id,
        )
    assert [(r["id"], Decimal(r["quantity"])) for r in rows] == [(str(x["id"]), x["quantity"]) for x in ledger]
    filtered = await export(database, tenant, "stock-movements.csv", {"warehouse_id": tenant.warehouses[1]})
    assert [r["quantity"] for r in csv.DictReader(io.StringIO(filtered.decode()))] == ["4"]


async def test_an_empty_csv_export_still_has_its_header(database, make_tenant):
    tenant = await make_tenant()
    assert (await export(database, tenant, "shipments.csv")).decode().strip().startswith("id,number,direction")


async def test_xlsx_keeps_numbers_as_numbers_and_timestamps_as_dates(database, owner_pool, make_tenant):
    tenant = await stocked_tenant(make_tenant, owner_pool)
    book = openpyxl.load_workbook(io.BytesIO(await export(database, tenant, "stock-levels.xlsx")), read_only=True)
    sheet = book.active
    header, *rows = list(sheet.iter_rows(values_only=True))
    by = {(r[header.index("sku")], r[header.index("warehouse_id")]): r for r in rows}
    first = by[("SKU-0", str(tenant.warehouses[0]))]
    assert first[header.index("on_hand")] == 12.5
    assert isinstance(first[header.index("updated_at (UTC)")], datetime)
    assert len(rows) == 3


async def test_an_xlsx_export_with_more_rows_than_a_worksheet_holds_is_refused_naming_csv(
    database, owner_pool, make_tenant, monkeypatch
):
    tenant = await stocked_tenant(make_tenant, owner_pool)  # three stock levels
    monkeypatch.setattr(build, "XLSX_MAX_ROWS", 2)
    with pytest.raises(InvalidInputError, match="export CSV") as refused:
        await export(database, tenant, "stock-levels.xlsx")
    assert refused.value.code == "export_too_large"
    monkeypatch.setattr(build, "XLSX_MAX_ROWS", 3)
    rows = list(openpyxl.load_workbook(io.BytesIO(await export(database, tenant, "stock-levels.xlsx"))).active.rows)
    assert len(rows) == 4


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
async def test_an_export_past_the_row_cap_is_refused_with_the_cap_and_the_filters_to_narrow_it(
    database, owner_pool, make_tenant, kind
):
    # Before, the export stopped at the cap (5,000,000 rows) and the file looked complete.
    tenant = await stocked_tenant(make_tenant, owner_pool)  # three stock levels
    with pytest.raises(InvalidInputError, match="at most 2 rows") as refused:
        await export(database, tenant, f"stock-levels.{kind}", max_rows=2)
    assert refused.value.code == "export_too_large"
    assert refused.value.details["max_rows"] == 2
    assert "warehouse_id" in refused.value.details["filters"]
    body = await export(database, tenant, f"stock-levels.{kind}", max_rows=3)
    rows = csv_rows(body) if kind == "csv" else list(openpyxl.load_workbook(io.BytesIO(body)).active.values)[1:]
    assert len(rows) == 3


async def test_the_up_front_count_may_outlast_a_requests_statement_timeout_which_then_holds_again(owner_pool):
    # Counting millions of rows took longer than the request's 15 s: an export within the cap failed with a 503.
    async with owner_pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL statement_timeout = '50ms'")
        async with build._longer_statements(conn, build.COUNT_TIMEOUT):
            await conn.execute("SELECT pg_sleep(0.2)")  # past the 50 ms the request allows
        assert await conn.fetchval("SELECT current_setting('statement_timeout')") == "50ms"


async def test_a_count_past_its_own_timeout_fails_with_its_own_error(owner_pool):
    # Putting the timeout back in the aborted transaction raised InFailedSQLTransactionError instead: a 500, not a 503.
    async with owner_pool.acquire() as conn:
        with pytest.raises(asyncpg.QueryCanceledError):
            async with conn.transaction(), build._longer_statements(conn, "50ms"):
                await conn.execute("SELECT pg_sleep(1)")


def csv_rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode())))


async def movement_with_reason(owner_pool, tenant, length: int, char: str = "x"):
    async with owner_pool.acquire() as conn:
        return await conn.fetchval(
            "INSERT INTO app.stock_movements (tenant_id, product_id, warehouse_id, movement_type, quantity, reason) "
            "VALUES ($1, $2, $3, 'receipt', 1, repeat($5, $4)) RETURNING id",
            tenant.id, tenant.products[0], tenant.warehouses[0], length, char,
        )  # fmt: skip


async def test_an_xlsx_export_with_a_text_past_a_cells_limit_is_refused_naming_the_row_and_column(
    database, owner_pool, make_tenant
):
    # Before, xlsxwriter cut the text to 32,767 characters (Excel's limit for a cell) and the export was a 200.
    tenant = await make_tenant()
    movement = await movement_with_reason(owner_pool, tenant, 32768)
    with pytest.raises(InvalidInputError, match="export CSV") as refused:
        await export(database, tenant, "stock-movements.xlsx")
    assert refused.value.code == "export_text_too_long"
    assert refused.value.details == {"id": str(movement), "column": "reason", "length": 32768, "max_length": 32767}
    assert [len(r["reason"]) for r in csv_rows(await export(database, tenant, "stock-movements.csv"))] == [32768]
    at_the_limit = await make_tenant()
    await movement_with_reason(owner_pool, at_the_limit, 32767)
    sheet = openpyxl.load_workbook(io.BytesIO(await export(database, at_the_limit, "stock-movements.xlsx"))).active
    header, row = list(sheet.values)
    assert len(row[header.index("reason")]) == 32767


async def test_excel_counts_a_character_past_u_ffff_twice_in_a_cells_limit(database, owner_pool, make_tenant):
    tenant = await make_tenant()
    await movement_with_reason(owner_pool, tenant, 16384, "\N{GRINNING FACE}")  # 32,768 UTF-16 units
    with pytest.raises(InvalidInputError) as refused:
        await export(database, tenant, "stock-movements.xlsx")
    assert refused.value.details["length"] == 32768


async def test_the_xlsx_writer_raises_rather_than_cut_a_text_past_a_cells_limit():
    async def long_text():
        yield [("x" * 32768,)]

    with pytest.raises(writers.CellTextTooLongError, match="row 2"):
        _ = [chunk async for chunk in writers.xlsx_chunks("t", ["reason"], long_text())]


@pytest.mark.slow  # a million cells written (9 s): xlsxwriter's row limit is fixed
async def test_the_xlsx_writer_raises_rather_than_drop_a_row_past_the_worksheet():
    async def rows_past_the_sheet():
        yield [(1,)]
        yield [(2,)] * writers.XLSX_MAX_ROWS

    with pytest.raises(writers.SheetFullError, match="row 1048577"):
        _ = [chunk async for chunk in writers.xlsx_chunks("t", ["n"], rows_past_the_sheet())]


async def test_times_are_written_on_the_readers_clock_and_say_which_it_is(database, owner_pool, make_tenant):
    tenant = await make_tenant()
    moved_at = datetime(2026, 5, 4, 2, 30, tzinfo=UTC)  # 19:30 on 3 May in Los Angeles
    async with owner_pool.acquire() as conn:
        await receipt_at(conn, tenant, moved_at, quantity=4)
    reader_now = NOW.astimezone(ZoneInfo("America/Los_Angeles"))

    (row,) = csv.DictReader(
        io.StringIO((await export(database, tenant, "stock-movements.csv", now=reader_now)).decode())
    )
    assert row["occurred_at"] == "2026-05-03T19:30:00-07:00"
    book = openpyxl.load_workbook(
        io.BytesIO(await export(database, tenant, "stock-movements.xlsx", now=reader_now)), read_only=True
    )
    header, first = list(book.active.iter_rows(values_only=True))
    assert first[header.index("occurred_at (America/Los_Angeles)")] == datetime(2026, 5, 3, 19, 30)
    pdf = await export(database, tenant, "stock-movements.pdf", now=reader_now)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Generated: 2026-05-04 05:30 America/Los_Angeles" in text
    assert "2026-05-03 19:30" in text


async def test_the_pdf_stock_report_has_title_tenant_date_table_and_chart(database, owner_pool, make_tenant):
    tenant = await stocked_tenant(make_tenant, owner_pool)
    text = "\n".join(
        p.extract_text() for p in PdfReader(io.BytesIO(await export(database, tenant, "stock-levels.pdf"))).pages
    )
    async with owner_pool.acquire() as conn:
        name = await conn.fetchval("SELECT name FROM app.tenants WHERE id = $1", tenant.id)
    assert "Stock levels report" in text
    assert f"Tenant: {name}" in text
    assert "Generated: 2026-05-04 12:30 UTC" in text
    assert "Stock value by warehouse" in text
    assert "31.00" in text and "8.00" in text  # WH-0: (12.5 + 3) x 2; WH-1: 4 x 2
    assert "SKU-0" in text and "Product 1" in text


@pytest.mark.parametrize(
    ("name", "error", "code"),
    [
        ("stock-movements.docx", InvalidInputError, "unknown_format"),
        ("stock-movements", InvalidInputError, "unknown_format"),
        ("invoices.csv", NotFoundError, "unknown_export"),
    ],
)
def test_unknown_exports_and_formats_are_refused(name, error, code):
    with pytest.raises(error) as refused:
        resolve(name)
    assert refused.value.code == code


async def test_an_unknown_filter_is_refused_before_any_byte_is_written(database, make_tenant):
    tenant = await make_tenant()
    with pytest.raises(InvalidInputError):
        await export(database, tenant, "stock-movements.csv", {"colour": "red"})


async def test_pdf_tables_have_human_labels_units_separators_page_numbers_and_the_filter(
    database, owner_pool, make_tenant
):
    tenant = await stocked_tenant(make_tenant, owner_pool, units={0: "kg"})
    async with owner_pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO app.stock_movements (tenant_id, product_id, warehouse_id, movement_type, quantity) "
            "VALUES ($1, $2, $3, 'receipt', 12345.5)",
            tenant.id,
            tenant.products[1],
            tenant.warehouses[1],
        )
    pdf = await export(database, tenant, "stock-levels.pdf", {"warehouse_id": tenant.warehouses[1]})
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "On hand" in text and "Available" in text and "on_hand" not in text
    assert "Filter: Warehouse = WH-1" in text
    assert "12,345.5 each" in text  # thousands separator and the product's unit
    assert "4 kg" in text
    assert "Page 1 of 1" in text
    assert "WH-0" not in text.replace("Stock value by warehouse", "")  # the filter held


async def test_a_long_pdf_repeats_the_heading_row_and_numbers_its_pages(database, owner_pool, make_tenant):
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO app.stock_movements (tenant_id, product_id, warehouse_id, movement_type, quantity) "
            "VALUES ($1, $2, $3, 'receipt', $4)",
            [(tenant.id, tenant.products[i % 2], tenant.warehouses[0], Decimal(i + 1)) for i in range(90)],
        )
    pages = PdfReader(io.BytesIO(await export(database, tenant, "stock-movements.pdf"))).pages
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        text = page.extract_text()
        assert "Occurred" in text and "Quantity" in text, f"no heading row on page {number}"
        assert f"Page {number} of {len(pages)}" in text
    assert "SKU-1" in pages[0].extract_text()  # movements show the product's SKU, looked up for the PDF


async def test_non_latin1_names_print_in_pdf_exports(database, owner_pool, make_tenant):
    tenant = await stocked_tenant(make_tenant, owner_pool)
    name = "Śruba łączna - Łódź Müller Ωmega"
    async with owner_pool.acquire() as conn:
        await conn.execute("UPDATE app.products SET name = $2 WHERE id = $1", tenant.products[0], name)
    text = PdfReader(io.BytesIO(await export(database, tenant, "stock-levels.pdf"))).pages[0].extract_text()
    assert name in text


async def test_csv_and_xlsx_take_human_labels_on_request(database, owner_pool, make_tenant):
    tenant = await stocked_tenant(make_tenant, owner_pool)
    dataset, fmt = resolve("stock-levels.csv")
    async with database.tenant_transaction(tenant.claims(), None) as tx:
        prepared = await build.prepare(tx.conn, dataset, fmt, ListQuery(limit=1), NOW, labels="human")
        body = b"".join([chunk async for chunk in prepared.chunks]).decode("utf-8-sig")  # with a BOM
    assert (
        body.splitlines()[0] == "Product ID,SKU,Product,Unit,Warehouse ID,Warehouse,On hand,Reserved,Available,Updated"
    )
    dataset, fmt = resolve("stock-levels.xlsx")
    async with database.tenant_transaction(tenant.claims(), None) as tx:
        prepared = await build.prepare(tx.conn, dataset, fmt, ListQuery(limit=1), NOW, labels="human")
        book = b"".join([chunk async for chunk in prepared.chunks])
    header = next(openpyxl.load_workbook(io.BytesIO(book), read_only=True).active.iter_rows(values_only=True))
    assert header[6] == "On hand"


def test_every_exported_column_has_a_human_label():
    from inventory.exports.datasets import DATASETS
    from inventory.exports.labels import LABELS

    missing = {c for d in DATASETS.values() for c in (*d.columns, *d.pdf_columns) if c not in LABELS}
    assert not missing


async def pdf_text(database, tenant, name: str) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(await export(database, tenant, name))).pages)


async def test_the_stock_value_chart_never_sums_two_currencies(database, owner_pool, make_tenant):
    # Before, 3 units at 300 JPY and 12.5 at 2 EUR made one bar of 925.
    tenant = await stocked_tenant(make_tenant, owner_pool)
    async with owner_pool.acquire() as conn:
        await conn.execute(
            "UPDATE app.products SET unit_cost = 300, unit_cost_currency = 'JPY' WHERE id = $1", tenant.products[1]
        )
    text = await pdf_text(database, tenant, "stock-levels.pdf")
    assert "Stock value by warehouse and cost currency" in text
    assert "WH-0 (EUR)" in text and "25.00" in text and "WH-0 (JPY)" in text and "900.00" in text
    assert "925.00" not in text  # an amount, not a digit run of the tenant's random name


async def test_the_stock_value_chart_counts_the_rows_it_cannot_value(database, owner_pool, make_tenant):
    # Before, a product without a unit cost was valued at 0.
    tenant = await stocked_tenant(make_tenant, owner_pool)
    async with owner_pool.acquire() as conn:
        await conn.execute("UPDATE app.products SET unit_cost = NULL WHERE id = $1", tenant.products[1])
    text = await pdf_text(database, tenant, "stock-levels.pdf")
    assert "Stock value by warehouse (EUR); 1 row without a unit cost in a known currency left out" in text


async def test_pdf_figures_keep_the_four_decimals_the_data_has(database, owner_pool, make_tenant):
    # Before, a washer at 0.0049 EUR read 0.00 EUR, and 0.0004 kg on hand read 0.
    tenant = await make_tenant(stock={0: Decimal("0.0004")}, units={0: "kg"})
    async with owner_pool.acquire() as conn:
        await conn.execute("UPDATE app.products SET unit_cost = 0.0049 WHERE id = $1", tenant.products[0])
    assert "0.0049 EUR" in await pdf_text(database, tenant, "products.pdf")
    assert "0.0004 kg" in await pdf_text(database, tenant, "stock-levels.pdf")
