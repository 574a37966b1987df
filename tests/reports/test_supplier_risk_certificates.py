"""The supplier risk report's certificates: ``window_days`` only selects the certificates the report lists, the
scores are the app's (the certifications driver's own 60 days), and the PDF's certificate table, which stops at
the report's table limit, shows every expiring certificate before any expired one while the workbook lists all."""

from __future__ import annotations

import io
from datetime import date, timedelta

import openpyxl
from pypdf import PdfReader

from reports.supplier_risk_data import RANK_LIMIT
from risk import service
from tests.support.rows import insert

RISK_PDF, RISK_XLSX = "/api/v1/exports/supplier-risk.pdf", "/api/v1/exports/supplier-risk.xlsx"


def sheet_rows(body: bytes, sheet: str, first: int) -> list[tuple[object, ...]]:
    book = openpyxl.load_workbook(io.BytesIO(body))
    return list(book[sheet].iter_rows(min_row=first, values_only=True))


def pdf_text(body: bytes) -> str:
    """The PDF's words, one space between each (a paragraph wraps where the page ends)."""
    return " ".join("\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages).split())


async def test_a_90_day_report_lists_a_75_day_certificate_as_expiring_and_scores_it_as_the_app_does(
    api, make_tenant, owner_pool, database
):
    # Before, ?window_days=90 scored WIDE-1's compliance 50 (the 75-day certificate counted as expiring), where
    # /ai/risk/suppliers/{id} and the copilot gave 25 the same day: two scores, and ?band=high two sets.
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        wide = await insert(conn, "suppliers", tenant_id=tenant.id, code="WIDE-1", name="Wide", country="DE")
        await insert(
            conn, "supplier_certifications", tenant_id=tenant.id, supplier_id=wide, standard="ISO 9001",
            expires_on=date.today() + timedelta(days=75),
        )  # fmt: skip

    async def report(**params: int) -> tuple[object, object, list[tuple[object, object, object]]]:
        body = (await api.get(RISK_XLSX, params=params, headers=tenant.headers())).content
        header = sheet_rows(body, "Ranking", 1)[0]
        (ranked,) = sheet_rows(body, "Ranking", 2)
        certificates = [(c[0], c[2], c[6]) for c in sheet_rows(body, "Certifications", 3)]
        return ranked[header.index("Overall")], ranked[header.index("Compliance")], certificates

    # What /ai/risk/suppliers/{id} answers (the RiskService runs this function).
    app = await database.run(tenant.claims(), tenant.id, lambda tx: service.assess_supplier(tx, wide, date.today()))
    assert app["components"]["compliance"] == 25  # no audit on file: 50 for it; the certificate, valid: 0
    assert await report(window_days=90) == (app["overall"], 25, [("WIDE-1", "ISO 9001", "expiring")])
    assert await report() == (app["overall"], 25, [])


async def test_the_report_says_its_scores_count_a_certificate_expiring_within_60_days(api, make_tenant):
    tenant = await make_tenant()
    pdf = await api.get(RISK_PDF, params={"window_days": 90}, headers=tenant.headers())
    assert "the scores count a certificate as expiring within 60 days" in pdf_text(pdf.content)
    xlsx = await api.get(RISK_XLSX, params={"window_days": 90}, headers=tenant.headers())
    about = {row[0]: row[1] for row in sheet_rows(xlsx.content, "About", 1)}
    assert about["Certificate window"] == "expired, or expiring within 90 days"
    assert "a certificate counts as expiring within 60 days" in str(about["Scores"])


async def test_the_pdf_shows_every_expiring_certificate_before_the_expired_ones_and_the_workbook_lists_all(
    api, make_tenant, owner_pool
):
    # Before, the table kept the 500 earliest expiries: 600 long-expired certificates and 20 expiring next week
    # showed 500 expired ones and none of the 20 expiring, the ones still to act on.
    tenant = await make_tenant()
    expired, expiring = RANK_LIMIT + 100, 20
    async with owner_pool.acquire() as conn:
        # Five standards a supplier: 120 suppliers hold the expired ones, one the expiring ones.
        await conn.execute(
            """
            WITH s AS (
                INSERT INTO app.suppliers (tenant_id, code, name, country)
                SELECT $1::uuid, 'OLD-' || lpad(g::text, 3, '0'), 'Old ' || g, 'DE'
                FROM generate_series(1, $2::int / 5) g
                UNION ALL SELECT $1::uuid, 'SOON-1', 'Soon', 'DE'
                RETURNING id, code
            )
            INSERT INTO app.supplier_certifications (tenant_id, supplier_id, standard, reference, expires_on)
            SELECT $1::uuid, s.id, (ARRAY['ISO 9001', 'ISO 14001', 'ISO 45001', 'ISO 50001', 'IATF 16949'])[g % 5 + 1],
                   'OLD-' || lpad(g::text, 4, '0'), current_date - 400 - g
            FROM generate_series(1, $2::int) g JOIN s ON s.code = 'OLD-' || lpad(((g + 4) / 5)::text, 3, '0')
            UNION ALL
            SELECT $1::uuid, s.id, 'IATF 16949', 'SOON-' || lpad(g::text, 4, '0'), current_date + 7
            FROM generate_series(1, $3::int) g JOIN s ON s.code = 'SOON-1'
            """,
            tenant.id, expired, expiring,
        )  # fmt: skip
    text = pdf_text((await api.get(RISK_PDF, headers=tenant.headers())).content)
    room = RANK_LIMIT - expiring
    assert (
        f"Showing {expiring} expiring and {room} of {expired} expired certificates (the table stops at {RANK_LIMIT} "
        f"rows); the workbook (xlsx) lists all {expired + expiring}." in text
    )
    assert all(f"SOON-{g:04d}" in text for g in range(1, expiring + 1))
    # The expired ones that lapsed latest fill the room left.
    assert f"OLD-{room:04d}" in text and f"OLD-{room + 1:04d}" not in text and f"OLD-{expired:04d}" not in text
    xlsx = (await api.get(RISK_XLSX, headers=tenant.headers())).content
    assert len(sheet_rows(xlsx, "Certifications", 3)) == expired + expiring


async def test_a_supplier_with_hundreds_of_one_expired_standard_gets_its_pdf_naming_the_standard_once(
    api, make_tenant, owner_pool
):
    # Before, the certifications driver named the standard once per certificate: 300 of them made a driver row
    # taller than a page and the PDF export failed with a 500 ("The row with index 1 is too high").
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        await conn.execute(
            """
            WITH s AS (
                INSERT INTO app.suppliers (tenant_id, code, name, country) VALUES ($1, 'MANY-1', 'Many', 'DE')
                RETURNING id
            )
            INSERT INTO app.supplier_certifications (tenant_id, supplier_id, standard, reference, expires_on)
            SELECT $1, s.id, 'ISO 9001', 'MANY-' || g, current_date - 10 - g FROM generate_series(1, 300) g, s
            """,
            tenant.id,
        )
    response = await api.get(RISK_PDF, headers=tenant.headers())
    assert response.status_code == 200, response.text
    assert "expired: ISO 9001 (300 certificates)" in pdf_text(response.content)
