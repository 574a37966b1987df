"""Exports (in process): text a spreadsheet would run as a formula is written as text, in CSV and XLSX."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import openpyxl

from deployments.api.app import create_api
from tests.support.rows import receipt_at

HOSTILE = {
    "product_name": '=HYPERLINK("http://x","y")',
    "category": "@SUM(A1:A9)",
    "warehouse_code": "+WH",
    "reference": "-2+3+cmd|' /C calc'!A0",
    "reason": "\t=1+1",
    "supplier_code": "=SUP",
    "po_number": "=PO-1",
    "carrier": "=CARRIER",
    "tracking_number": "\r=2",
    "order_reference": "@ref",
    # A spreadsheet reading ";" as the separator starts a cell after each ";" and (past the first column) each line
    # break of a value.
    "name_sep": "x;=1+1;",
    "category_lines": 'Bolts\n=1+1;"@A1',
}
# How a comma reader reads each back: with a single quote before every trigger a cell could start at.
AS_WRITTEN = {key: "'" + value for key, value in HOSTILE.items()} | {
    "tracking_number": "'\r'=2",
    "name_sep": "x;'=1+1;",
    "category_lines": "Bolts\n'=1+1;'\"@A1",
}
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


async def _hostile_records(owner_pool, tenant) -> None:
    """Text a spreadsheet would run as a formula, stored as data may arrive (an ERP sync, an import)."""
    product, warehouse = tenant.products[0], tenant.warehouses[0]
    async with owner_pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE app.products SET name = $2, category = $3 WHERE id = $1",
            product, HOSTILE["product_name"], HOSTILE["category"],
        )  # fmt: skip
        await conn.execute(
            "UPDATE app.products SET name = $2, category = $3 WHERE id = $1",
            tenant.products[1], HOSTILE["name_sep"], HOSTILE["category_lines"],
        )  # fmt: skip
        await conn.execute("UPDATE app.warehouses SET code = $2 WHERE id = $1", warehouse, HOSTILE["warehouse_code"])
        await conn.execute(
            "INSERT INTO app.stock_movements (tenant_id, product_id, warehouse_id, movement_type, quantity, reference,"
            " reason) VALUES ($1, $2, $3, 'receipt', 5, $4, $5)",
            tenant.id, product, warehouse, HOSTILE["reference"], HOSTILE["reason"],
        )  # fmt: skip
        supplier = await conn.fetchval(
            "INSERT INTO app.suppliers (tenant_id, code, name) VALUES ($1, $2, 'S') RETURNING id",
            tenant.id, HOSTILE["supplier_code"],
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO app.purchase_orders (tenant_id, number, supplier_id, warehouse_id, currency)"
            " VALUES ($1, $2, $3, $4, 'EUR')",
            tenant.id, HOSTILE["po_number"], supplier, warehouse,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO app.shipments (tenant_id, direction, warehouse_id, carrier, tracking_number, order_reference)"
            " VALUES ($1, 'outbound', $2, $3, $4, $5)",
            tenant.id, warehouse, HOSTILE["carrier"], HOSTILE["tracking_number"], HOSTILE["order_reference"],
        )  # fmt: skip


async def test_every_csv_export_neutralises_formula_cells(http, make_tenant, owner_pool):
    tenant = await make_tenant()
    await _hostile_records(owner_pool, tenant)
    cells: list[str] = []
    for dataset in ("products", "stock-levels", "stock-movements", "purchase-orders", "shipments"):
        response = await http.get(f"/api/v1/exports/{dataset}.csv", headers=tenant.headers(tenant.viewer))
        assert response.status_code == 200, response.text
        rows = list(csv.reader(io.StringIO(response.text, newline="")))
        assert len(rows) > 1, dataset
        for row in rows[1:]:
            for cell in row:
                assert not cell.startswith(TRIGGERS), (dataset, cell)
            cells += row
        # Excel where the decimal point is a comma: ";" separates, and the quotes meant for commas fall out of step.
        for row in csv.reader(io.StringIO(response.text, newline=""), delimiter=";"):
            for cell in row:
                assert not cell.startswith(TRIGGERS), (dataset, "read with ;", cell)
    for key, written in AS_WRITTEN.items():
        assert written in cells, key  # kept, with the quotes that make a spreadsheet show it as text


async def test_xlsx_export_writes_formula_text_as_strings(http, make_tenant, owner_pool):
    tenant = await make_tenant()
    await _hostile_records(owner_pool, tenant)
    response = await http.get("/api/v1/exports/products.xlsx", headers=tenant.headers())
    assert response.status_code == 200, response.text
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    names = {cell.value: cell.data_type for cell in sheet["C"]}
    assert names[HOSTILE["product_name"]] == "s"  # a string cell, not a formula ('f')


async def test_a_movement_stored_in_year_one_exports_in_every_format(http, make_tenant, owner_pool):
    # Refused on input since 2026-12-06 (before 1900); an older row may hold one. Excel has no date before 1900 and
    # UTC has no year before 1: before, the xlsx and PDF exports failed on it.
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        await receipt_at(conn, tenant, datetime(1, 1, 1, tzinfo=UTC))
    for kind in ("csv", "xlsx", "pdf"):
        response = await http.get(f"/api/v1/exports/stock-movements.{kind}", headers=tenant.headers())
        assert response.status_code == 200, (kind, response.text)
    workbook = (await http.get("/api/v1/exports/stock-movements.xlsx", headers=tenant.headers())).content
    cells = [cell.value for row in openpyxl.load_workbook(io.BytesIO(workbook)).active.iter_rows() for cell in row]
    assert any(isinstance(cell, str) and cell.startswith("0001-01-01T00:00") for cell in cells)  # as text


async def test_exports_show_times_in_the_readers_profile_time_zone(http, make_tenant, owner_pool):
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        await receipt_at(conn, tenant, datetime(2026, 5, 4, 2, 30, tzinfo=UTC))
        await receipt_at(conn, tenant, datetime(1, 1, 1, tzinfo=UTC))  # a time with no year west of UTC
    profile = await http.patch("/api/v1/me", json={"timezone": "America/Los_Angeles"}, headers=tenant.headers())
    assert profile.status_code == 200, profile.text
    exported = await http.get("/api/v1/exports/stock-movements.csv", headers=tenant.headers())
    times = {row["occurred_at"] for row in csv.DictReader(io.StringIO(exported.text))}
    assert "2026-05-03T19:30:00-07:00" in times
    for kind in ("xlsx", "pdf"):  # the year-1 row is written as stored, as in UTC
        response = await http.get(f"/api/v1/exports/stock-movements.{kind}", headers=tenant.headers())
        assert response.status_code == 200, (kind, response.text)


async def test_a_bare_date_in_a_time_filter_is_midnight_on_the_readers_calendar(http, make_tenant, owner_pool):
    # 23:00 and 01:00 in Los Angeles either side of its midnight: "from 2026-12-01" there is only the second.
    # Before, a bare date was midnight UTC whoever asked: the export listed a row its own times put on Nov 30.
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        await receipt_at(conn, tenant, datetime(2026, 12, 1, 7, 0, tzinfo=UTC))
        await receipt_at(conn, tenant, datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    query = "occurred_from=2026-12-01&sort=occurred_at"

    async def listed() -> list[str]:
        page = await http.get(f"/api/v1/stock-movements?{query}", headers=tenant.headers())
        assert page.status_code == 200, page.text
        return [m["occurred_at"] for m in page.json()["items"]]

    assert len(await listed()) == 2  # no profile: UTC's midnight
    await http.patch("/api/v1/me", json={"timezone": "America/Los_Angeles"}, headers=tenant.headers())
    assert await listed() == ["2026-12-01T09:00:00Z"]
    exported = await http.get(f"/api/v1/exports/stock-movements.csv?{query}", headers=tenant.headers())
    assert [row["occurred_at"] for row in csv.DictReader(io.StringIO(exported.text))] == ["2026-12-01T01:00:00-08:00"]


async def test_a_filter_value_the_database_refuses_is_a_422_before_the_export_starts(http, make_tenant):
    # Before, the query ran while the body streamed: a 200 whose CSV or xlsx broke off after its headers.
    tenant = await make_tenant()
    for kind in ("csv", "xlsx"):
        for path in (f"products.{kind}?q=a%00b", f"stock-levels.{kind}?sku=a%00b"):
            response = await http.get(f"/api/v1/exports/{path}", headers=tenant.headers())
            assert (response.status_code, response.json()["code"]) == (422, "invalid_value"), path


async def test_a_csv_export_past_the_configured_row_cap_is_a_400_before_the_export_starts(api_settings, make_tenant):
    # Before, the export stopped at the cap (5,000,000 rows, fixed) in a 200 that looked complete.
    tenant = await make_tenant(stock={0: Decimal(1), 1: Decimal(1)})  # two stock levels
    app = create_api(api_settings.model_copy(update={"export_max_rows": 1}))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client,
    ):
        response = await client.get("/api/v1/exports/stock-levels.csv", headers=tenant.headers())
    assert (response.status_code, response.json()["code"]) == (400, "export_too_large")
    assert response.json()["details"]["max_rows"] == 1


async def test_the_csv_byte_order_mark_follows_labels_unless_bom_says_otherwise(http, make_tenant):
    # Before, no CSV had one: Excel on Windows read "Müller" as "MÃ¼ller".
    tenant = await make_tenant()
    expected = {"": False, "?labels=human": True, "?labels=human&bom=false": False, "?bom=true": True}
    for query, marked in expected.items():
        response = await http.get(f"/api/v1/exports/products.csv{query}", headers=tenant.headers())
        assert response.content.startswith(b"\xef\xbb\xbf") is marked, query
    refused = {}
    for query in ("bom=maybe", "labels=maybe"):
        response = await http.get(f"/api/v1/exports/products.csv?{query}", headers=tenant.headers())
        refused[query] = (response.status_code, response.json()["code"])
    assert refused["bom=maybe"] == refused["labels=maybe"] and refused["bom=maybe"][0] in (400, 422)
    spec = (await http.get("/openapi.json")).json()
    parameters = spec["paths"]["/api/v1/exports/{name}"]["get"]["parameters"]
    assert "byte-order mark" in next(p for p in parameters if p["name"] == "bom")["description"]
