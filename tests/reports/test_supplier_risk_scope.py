"""What the supplier risk report says it covers: the certificates and the trend of every supplier the filter
selects (the ranking table alone is cut at the ranking API's page), the filter, window and date in the workbook
itself, and each driver's value as a cell a spreadsheet reads (no Python dict or 'None')."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
from pypdf import PdfReader

from reports.supplier_risk_data import gather
from reports.supplier_risk_xlsx import render_supplier_risk_xlsx
from tests.support.rows import insert, insert_many

RISK_PDF, RISK_XLSX = "/api/v1/exports/supplier-risk.pdf", "/api/v1/exports/supplier-risk.xlsx"


def workbook(body: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(body))


def about(book: openpyxl.Workbook) -> dict[str, object]:
    return {row[0]: row[1] for row in book["About"].iter_rows(values_only=True)}


async def test_certificates_and_trend_cover_a_supplier_beyond_the_ranking_cut(api, make_tenant, owner_pool):
    # Before, both were cut to the 500 ranked: the PDF said "None." beside GOOD-1's expired IATF 16949 (which
    # /ai/risk/compliance reports), its deliveries left the trend, and the workbook never said 500 of 501.
    tenant = await make_tenant()
    today = date.today()
    async with owner_pool.acquire() as conn:
        risky = await conn.fetch(
            "INSERT INTO app.suppliers (tenant_id, code, name, country) SELECT $1, 'S-' || lpad(g::text, 4, '0'), "
            "'Risky ' || g, 'DE' FROM generate_series(1, 500) g RETURNING id",
            tenant.id,
        )
        await conn.execute(
            "INSERT INTO app.supplier_risk_profiles (tenant_id, supplier_id, credit_rating) "
            "SELECT $1, unnest($2::uuid[]), 'D'",
            tenant.id,
            [r["id"] for r in risky],
        )
        good = await insert(conn, "suppliers", tenant_id=tenant.id, code="GOOD-1", name="Good Supplier", country="DE")
        await insert(conn, "supplier_risk_profiles", tenant_id=tenant.id, supplier_id=good, credit_rating="AAA")
        await insert(
            conn, "supplier_certifications", tenant_id=tenant.id, supplier_id=good, standard="IATF 16949",
            reference="C-78", expires_on=today - timedelta(days=5),
        )  # fmt: skip
        due = today - timedelta(days=40)
        await insert_many(
            conn,
            "supplier_deliveries",
            [
                {"tenant_id": tenant.id, "supplier_id": good, "shipment_mode": "road",
                 "order_date": due - timedelta(days=10), "promised_date": due, "delivered_date": due, "quantity": 1,
                 "value": 1, "import_key": f"good-{i}"}
                for i in range(4)
            ],
        )  # fmt: skip
    pdf = await api.get(RISK_PDF, headers=tenant.headers())
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "the 500 riskiest of 501" in text
    assert "IATF 16949" in text and "C-78" in text and "GOOD-1" in text
    assert "No order line due in the last 12 months" not in text  # GOOD-1's four lines are in the trend
    book = workbook((await api.get(RISK_XLSX, headers=tenant.headers())).content)
    ranked = [row[1] for row in book["Ranking"].iter_rows(min_row=2, values_only=True)]
    assert len(ranked) == 500 and "GOOD-1" not in ranked
    certificates = [row for row in book["Certifications"].iter_rows(min_row=3, values_only=True)]
    assert [(c[0], c[2], c[6]) for c in certificates] == [("GOOD-1", "IATF 16949", "expired")]
    late = [row for row in book["Late deliveries"].iter_rows(min_row=2, values_only=True)]
    assert [(r[0], r[2], r[3]) for r in late] == [("GOOD-1", 4, 0)]
    assert "the 500 riskiest of 501" in str(about(book)["Suppliers"])


async def test_the_workbook_says_which_band_window_and_day_produced_it(api, make_tenant, owner_pool):
    # Before, ?band=low&window_days=5 gave GOOD-1 as "Rank 1" and an empty Certifications sheet, with no word of
    # the band, the 5-day window, the tenant, the day or the time.
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        bad = await insert(conn, "suppliers", tenant_id=tenant.id, code="BAD-1", name="Bad", country="DE")
        await insert(conn, "supplier_risk_profiles", tenant_id=tenant.id, supplier_id=bad, credit_rating="D")
        good = await insert(conn, "suppliers", tenant_id=tenant.id, code="GOOD-1", name="Good", country="DE")
        await insert(
            conn, "supplier_risk_profiles", tenant_id=tenant.id, supplier_id=good, credit_rating="AAA",
            days_payable=30, revenue_trend_pct=10, distance_km=50,
        )  # fmt: skip
        await insert(
            conn, "supplier_audits", tenant_id=tenant.id, supplier_id=good, audited_on=date.today() - timedelta(30),
            score=100, outcome="pass",
        )  # fmt: skip
        await insert(
            conn, "supplier_certifications", tenant_id=tenant.id, supplier_id=good, standard="ISO 9001",
            expires_on=date.today() + timedelta(days=30),
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO app.member_profiles (tenant_id, user_id, timezone) VALUES ($1, $2, 'Europe/Warsaw')",
            tenant.id,
            tenant.planner,
        )
        name = await conn.fetchval("SELECT name FROM app.tenants WHERE id = $1", tenant.id)
    filtered = await api.get(RISK_XLSX, params={"band": "low", "window_days": 5}, headers=tenant.headers())
    book = workbook(filtered.content)
    assert book.sheetnames[0] == "About"
    facts = about(book)
    assert facts["Tenant"] == name
    assert str(facts["Generated"]).endswith(" Europe/Warsaw")
    # The reader's day (Warsaw), not the machine's: after 23:00 UTC they differ.
    assert facts["As of"] == datetime.now(ZoneInfo("Europe/Warsaw")).date().isoformat()
    assert facts["Band"] == "low only" and facts["Certificate window"] == "expired, or expiring within 5 days"
    assert facts["Suppliers"] == "1 ranked of 1"
    header, (good_row,) = (
        next(book["Ranking"].iter_rows(max_row=1, values_only=True)),
        list(book["Ranking"].iter_rows(min_row=2, values_only=True)),
    )
    assert (header[0], good_row[0], good_row[1]) == ("Rank within band low", 1, "GOOD-1")
    assert "within 5 days" in str(book["Certifications"]["A1"].value)
    everyone = workbook((await api.get(RISK_XLSX, headers=tenant.headers())).content)
    assert everyone["Ranking"]["A1"].value == "Overall rank" and about(everyone)["Band"] == "all"
    assert "within 60 days" in str(everyone["Certifications"]["A1"].value)


async def test_driver_values_are_cells_not_python_reprs(database, make_tenant, owner_pool):
    # Before, str(value): "{'outcome': 'conditional', 'score': 82.5, 'audited_on': '2026-01-15'}" and 'None'.
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        await insert(conn, "suppliers", tenant_id=tenant.id, code="SUP-1", name="Société Générale", country="FR")
    data = await database.run(tenant.claims(), tenant.id, lambda tx: gather(tx, date.today()))
    factors = [
        {"component": "compliance", "factor": "latest_audit", "factor_score": 50, "contribution": 5.0,
         "value": {"outcome": "conditional", "score": 82.5, "audited_on": "2026-01-15"}},
        {"component": "financial", "factor": "credit_rating", "factor_score": 50, "contribution": 4.0, "value": None,
         "note": "no credit rating on file"},
        {"component": "geographical", "factor": "distance_km", "factor_score": 7.1, "contribution": 0.3,
         "value": 850.0},
        {"component": "geographical", "factor": "country_risk", "factor_score": 20, "contribution": 0.2,
         "value": "FR"},
    ]  # fmt: skip
    item = {**data.ranking["suppliers"][0], "top_factors": factors}
    data = replace(data, ranking={**data.ranking, "suppliers": [item]})
    body = render_supplier_risk_xlsx("T", datetime.now(UTC), data)
    sheet = workbook(body)["Drivers"]
    assert sheet["D1"].value == "Value"
    values = {row[2].value: row[3] for row in sheet.iter_rows(min_row=2)}
    assert values["latest_audit"].value == "conditional, score 82.5, 2026-01-15"
    assert values["credit_rating"].value is None
    assert (values["distance_km"].value, values["distance_km"].data_type) == (850, "n")
    assert values["country_risk"].value == "FR"
