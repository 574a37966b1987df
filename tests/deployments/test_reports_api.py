"""The report routes through Serve's port (the forecast report's model work runs in the ForecastService
deployment), and the export slots they share with the dataset exports."""

from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest
from pypdf import PdfReader

from tests.deployments.forecast_rows import post_daily_issues, weekday_demand
from tests.reports.test_supplier_risk_report import deliveries

pytestmark = [pytest.mark.serve]

REPORTS = "/api/v1/exports"
SUPPLIER = "Zakład Łódź Sp. z o.o."


@pytest.fixture(scope="module")
async def report_tenant(make_tenant, owner_pool):
    tenant = await make_tenant()
    await post_daily_issues(owner_pool, tenant, tenant.products[0], tenant.warehouses[0], weekday_demand(days=120))
    async with owner_pool.acquire() as conn:
        supplier = await conn.fetchval(
            "INSERT INTO app.suppliers (tenant_id, code, name, country) VALUES ($1, 'SUP-LDZ', $2, 'PL') RETURNING id",
            tenant.id,
            SUPPLIER,
        )
        await deliveries(conn, tenant.id, supplier, 20, delay_days=4, today=date.today())
    return tenant


async def test_the_forecast_report_comes_back_as_a_pdf_with_a_chart_per_series(http, report_tenant):
    t = report_tenant
    params = {"product_id": str(t.products[0]), "warehouse_id": str(t.warehouses[0]), "horizon": 14}
    response = await http.get(f"{REPORTS}/forecast.pdf", params=params, headers=t.headers(), timeout=300)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 2 and reader.pages[1].images
    assert "Demand forecast report" in reader.pages[0].extract_text()


async def test_the_supplier_risk_report_comes_back_as_pdf_and_xlsx(http, report_tenant):
    pdf = await http.get(f"{REPORTS}/supplier-risk.pdf", headers=report_tenant.headers())
    assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf"), pdf.text
    assert SUPPLIER in "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    xlsx = await http.get(f"{REPORTS}/supplier-risk.xlsx", headers=report_tenant.headers())
    assert xlsx.status_code == 200, xlsx.text
    assert xlsx.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert SUPPLIER in [row[2] for row in book["Ranking"].iter_rows(values_only=True)]


async def test_reports_take_the_callers_export_slots_and_answer_429_when_they_are_taken(
    http, report_tenant, owner_pool
):
    t = report_tenant
    # Two exports of the planner's still downloading: both of the planner's slots (EXPORTS_PER_USER=2) are held.
    async with owner_pool.acquire() as conn, conn.transaction():
        for slot in range(2):
            assert await conn.fetchval(
                "SELECT pg_try_advisory_xact_lock(hashtext($1), $2)", f"export:{t.planner}", slot
            )
        for name in ("supplier-risk.pdf", "supplier-risk.xlsx", "forecast.pdf"):
            refused = await http.get(f"{REPORTS}/{name}", headers=t.headers())
            assert (refused.status_code, refused.json()["code"]) == (429, "too_many_exports"), name
        assert (await http.get(f"{REPORTS}/supplier-risk.xlsx", headers=t.headers(t.viewer))).status_code == 200
    assert (await http.get(f"{REPORTS}/supplier-risk.xlsx", headers=t.headers())).status_code == 200
