"""The supplier risk report's certificates: the scores' certifications driver judges "expiring" over the window
the report asks for, as its certificate table does, and the PDF's certificate table stops at the report's table
limit with a note while the workbook lists every certificate."""

from __future__ import annotations

import io
from datetime import date, timedelta

import openpyxl
from pypdf import PdfReader

from reports.supplier_risk_data import RANK_LIMIT
from tests.support.rows import insert

RISK_PDF, RISK_XLSX = "/api/v1/exports/supplier-risk.pdf", "/api/v1/exports/supplier-risk.xlsx"


def sheet_rows(body: bytes, sheet: str, first: int) -> list[tuple[object, ...]]:
    book = openpyxl.load_workbook(io.BytesIO(body))
    return list(book[sheet].iter_rows(min_row=first, values_only=True))


async def test_the_scores_judge_a_certificate_expiring_over_the_window_the_report_asks_for(
    api, make_tenant, owner_pool
):
    # Before, ?window_days=90 listed WIDE-1's ISO 9001 (75 days left) as expiring while its compliance score
    # counted it as valid (the driver's fixed 60 days): 25 beside the table's "expiring".
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        wide = await insert(conn, "suppliers", tenant_id=tenant.id, code="WIDE-1", name="Wide", country="DE")
        await insert(
            conn, "supplier_certifications", tenant_id=tenant.id, supplier_id=wide, standard="ISO 9001",
            expires_on=date.today() + timedelta(days=75),
        )  # fmt: skip

    async def report(**params: int) -> tuple[object, list[tuple[object, object, object]]]:
        body = (await api.get(RISK_XLSX, params=params, headers=tenant.headers())).content
        header = sheet_rows(body, "Ranking", 1)[0]
        (ranked,) = sheet_rows(body, "Ranking", 2)
        certificates = [(c[0], c[2], c[6]) for c in sheet_rows(body, "Certifications", 3)]
        return ranked[header.index("Compliance")], certificates

    # No audit on file: the latest-audit factor is 50; the certifications factor 50 when expiring, 0 when valid.
    assert await report(window_days=90) == (50, [("WIDE-1", "ISO 9001", "expiring")])
    assert await report() == (25, [])


async def test_the_pdf_certificate_table_stops_at_the_table_limit_and_the_workbook_lists_all(
    api, make_tenant, owner_pool
):
    # Before, every certificate was a row: 5,000 suppliers with one certificate each made 290 pages in 16 s.
    tenant = await make_tenant()
    total = RANK_LIMIT + 1
    async with owner_pool.acquire() as conn:
        await conn.execute(
            """
            WITH s AS (
                INSERT INTO app.suppliers (tenant_id, code, name, country)
                SELECT $1, 'S-' || lpad(g::text, 4, '0'), 'Supplier ' || g, 'DE' FROM generate_series(1, $2) g
                RETURNING id, code
            )
            INSERT INTO app.supplier_certifications (tenant_id, supplier_id, standard, reference, expires_on)
            SELECT $1, id, 'ISO 9001', 'R-' || substr(code, 3), current_date - 600 + substr(code, 3)::int FROM s
            """,
            tenant.id,
            total,
        )
    pdf = await api.get(RISK_PDF, headers=tenant.headers())
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert f"The {RANK_LIMIT} earliest-expiring of {total}" in text
    assert f"the workbook (xlsx) lists all {total}" in text
    assert f"R-{RANK_LIMIT:04d}" in text and f"R-{total:04d}" not in text  # the latest expiry is left out
    xlsx = (await api.get(RISK_XLSX, headers=tenant.headers())).content
    assert len(sheet_rows(xlsx, "Certifications", 3)) == total
