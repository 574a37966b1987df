"""Exports parsed back (csv module, openpyxl, pypdf) and compared with the database."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import openpyxl
import pytest
from pypdf import PdfReader

from common.errors import InvalidInputError, NotFoundError
from inventory.exports import build
from inventory.exports.datasets import resolve
from inventory.listing import ListQuery

NOW = datetime(2026, 5, 4, 12, 30, tzinfo=UTC)


async def export(database, tenant, name: str, filters: dict | None = None) -> bytes:
    dataset, fmt = resolve(name)
    async with database.tenant_transaction(tenant.claims(), None) as tx:
        prepared = await build.prepare(tx.conn, dataset, fmt, ListQuery(limit=1, filters=filters or {}), NOW)
        return b"".join([chunk async for chunk in prepared.chunks])


async def stocked_tenant(make_tenant, owner_pool):
    tenant = await make_tenant(stock={0: Decimal("12.5"), 1: Decimal(3)})
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
    assert isinstance(first[header.index("updated_at")], datetime)
    assert len(rows) == 3


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
