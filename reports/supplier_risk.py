"""The supplier risk report as PDF (ranking with a stacked bar of the components, top drivers in words, the
late-delivery trend, expiring certifications); the same data as a workbook is ``reports.supplier_risk_xlsx``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from inventory.exports.pdf_tables import Column, draw_table
from reports.charts import OVERALL_DECIMALS, ScoreBar, late_trend_chart, stacked_scores_chart
from reports.supplier_risk_data import (
    RANK_LIMIT,
    SupplierRiskData,
    certificate_table,
    certification_rows,
    driver_text,
    late_rates,
    trend_months,
    weighted_components,
)
from risk.scoring import EXPIRY_WARNING_DAYS

if TYPE_CHECKING:
    from inventory.exports.pdf_document import ReportDocument

TITLE = "Supplier risk report"
CHART_SUPPLIERS = 25  # bars in the ranking chart; the table lists every supplier
TREND_LINES = 5  # the highest-risk suppliers with lines due, plus all suppliers together
COMPONENTS = ("financial", "operational", "geographical", "compliance")


def ranking_rows(data: SupplierRiskData) -> list[dict[str, Any]]:
    rows = []
    for rank, item in enumerate(data.ranking["suppliers"], start=1):
        supplier = item["supplier"]
        rows.append(
            {
                "rank": rank,
                "code": supplier["code"],
                "name": supplier["name"],
                "country": supplier["country"],
                "overall": item["overall"],
                "band": item["band"],
                **{c: item["components"][c] for c in COMPONENTS},
                "confidence": item["confidence"],
                "deliveries": item["deliveries"],
                "drivers": "; ".join(driver_text(f) for f in item["top_factors"]),
            }
        )
    return rows


_RANKING = [
    Column("rank", "#", "number", width=0.35),
    Column("code", "Code", width=1.35),
    Column("name", "Supplier", width=1.9),
    Column("country", "Country", width=0.9),
    Column("overall", "Overall", "number", decimals=OVERALL_DECIMALS, width=0.8),
    Column("band", "Band", width=0.85),
    *(Column(c, c.capitalize(), "number", decimals=1, width=1.45 if c == "geographical" else 1.15) for c in COMPONENTS),
    Column("confidence", "Confidence", width=1.2),
    Column("deliveries", "Deliveries", "number", width=1.0),
]
_DRIVERS = [
    Column("rank", "#", "number", width=0.3),
    Column("code", "Code", width=1.3),
    Column("name", "Supplier", width=1.9),
    Column("drivers", "Top drivers (component, points added to the overall score)", width=7.0),
]
_CERTIFICATIONS = [
    Column("code", "Code", width=1.1),
    Column("name", "Supplier", width=2.4),
    Column("standard", "Standard", width=1.3),
    Column("reference", "Reference", width=1.6),
    Column("expires_on", "Expires", width=1.0),
    Column("days_left", "Days left", "number", width=0.8),
    Column("state", "State", width=0.8),
]


def render_supplier_risk_pdf(tenant: str, generated: datetime, filter_text: str, data: SupplierRiskData) -> bytes:
    # fpdf loads with the first report, not when the API imports the report routes (~2.6 s of CPU per replica).
    from inventory.exports.pdf_document import ReportDocument

    rows = ranking_rows(data)
    weights = data.ranking["weights"]
    pdf = ReportDocument(TITLE, tenant, generated, filter_text)
    pdf.add_page()
    pdf.title_block(
        [
            ("As of", data.as_of.isoformat()),
            ("Suppliers", f"{_ranked_count(data)} by overall risk (0 = none, 100 = highest; high ≥ 60, medium ≥ 30)"),
            ("Weights", " · ".join(f"{c} {float(weights[c]):.0%}" for c in COMPONENTS)),
            ("Certificates", _certificate_rule(data)),
        ]
    )
    pdf.heading("Suppliers ranked by risk")
    shown = data.ranking["suppliers"][:CHART_SUPPLIERS]
    if shown:
        bars = [
            ScoreBar(i["supplier"]["code"], i["supplier"]["name"], weighted_components(i), i["overall"]) for i in shown
        ]
        height_in = max(1.6, 0.3 * len(bars) + 0.9)
        width = pdf.usable_width()
        pdf.png(
            stacked_scores_chart(bars, width_in=10.0, height_in=height_in), width=width, height=width * height_in / 10
        )
    draw_table(pdf, _RANKING, rows)
    pdf.heading("What drives each score")
    draw_table(pdf, _DRIVERS, rows)
    _trend_section(pdf, data)
    pdf.heading(f"Certifications expired or expiring within {data.compliance['window_days']} days")
    _certificate_table(pdf, certification_rows(data))
    return pdf.finish()


def _certificate_rule(data: SupplierRiskData) -> str:
    """The report's window selects the certificates listed; the scores keep the app's rule (one score everywhere)."""
    return (
        f"the table lists those expired or expiring within {data.compliance['window_days']} days; the scores "
        f"count a certificate as expiring within {EXPIRY_WARNING_DAYS} days (the score's rule, as in the app)"
    )


def _certificate_table(pdf: ReportDocument, certificates: list[dict[str, Any]]) -> None:
    """At most RANK_LIMIT rows, as the ranking table stops at RANK_LIMIT suppliers (5,000 took 290 pages, a data
    dump rather than a report): every expiring certificate first, then the expired ones that lapsed latest, with a
    note of both counts and of the workbook, which lists all."""
    if not certificates:
        pdf.paragraph("None.", muted=True)
        return
    table, total = certificate_table(certificates, RANK_LIMIT), len(certificates)
    if len(table.rows) < total:
        expiring, expired = _part(table.shown("expiring"), table.expiring), _part(table.shown("expired"), table.expired)
        pdf.paragraph(
            f"Showing {expiring} expiring and {expired} expired certificates (the table stops at {RANK_LIMIT} rows); "
            f"the workbook (xlsx) lists all {total}.",
            muted=True,
        )
    draw_table(pdf, _CERTIFICATIONS, table.rows)


def _part(shown: int, total: int) -> str:
    return str(total) if shown == total else f"{shown} of {total}"


def _ranked_count(data: SupplierRiskData) -> str:
    shown, total = len(data.ranking["suppliers"]), data.ranking["total"]
    if shown == total:
        return f"{shown} ranked"
    # Only the ranking is cut: said, so the trend and certificate sections are not read as the ranked ones'.
    return f"the {shown} riskiest of {total} ranked (the late deliveries and certifications cover all {total})"


ALL_RANKED = "All ranked suppliers"  # the trend of every ranked supplier together, drawn bold


def trend_lines(data: SupplierRiskData) -> dict[str, list[float | None]]:
    months = trend_months(data.as_of)
    lines = {ALL_RANKED: late_rates(data.trend, months)}
    delivering = set(data.trend["supplier_id"])
    for item in data.ranking["suppliers"]:
        if len(lines) > TREND_LINES:
            break
        if str(item["supplier"]["id"]) in delivering:
            lines[item["supplier"]["code"]] = late_rates(data.trend, months, str(item["supplier"]["id"]))
    return lines


def _trend_section(pdf: ReportDocument, data: SupplierRiskData) -> None:
    pdf.add_page()
    pdf.heading("Late deliveries over the last 12 months")
    pdf.paragraph(
        "Share of order lines that arrived after their promised date or are still open past it (late whenever "
        "they come, as in the on-time score), by the month they were due: the ranked suppliers together and the "
        f"{TREND_LINES} highest-risk ones with lines due in the period.",
        muted=True,
    )
    if data.trend.empty:
        pdf.paragraph("No order line due in the last 12 months was delivered or is overdue.", muted=True)
        return
    months = trend_months(data.as_of)
    width = pdf.usable_width()
    chart = late_trend_chart(
        [m.to_pydatetime() for m in months], trend_lines(data), width_in=10.0, height_in=3.2, emphasised=ALL_RANKED
    )
    pdf.png(chart, width=width, height=width * 0.32)
