"""The supplier risk report's data as a workbook: an About sheet saying what produced it (tenant, time, day,
band, certificate window, how many suppliers the ranking holds), then one sheet per section, numbers as numbers."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import xlsxwriter

from inventory.exports.pdf_style import TIMESTAMP_FORMAT
from inventory.schemas import zone_name
from reports.supplier_risk import COMPONENTS, TITLE, ranking_rows
from reports.supplier_risk_data import (
    SupplierRiskData,
    certification_rows,
    driver_text,
    driver_value,
    weighted_components,
)
from risk.scoring import EXPIRY_WARNING_DAYS

# The certificate window selects the Certifications sheet's rows; the scores are the app's, whatever the window.
SCORE_CERTIFICATE_RULE = (
    f"a certificate counts as expiring within {EXPIRY_WARNING_DAYS} days (the score's rule, as in the app, "
    "whatever the certificate window)"
)


def about_rows(tenant: str, generated: datetime, data: SupplierRiskData) -> list[tuple[str, str]]:
    """What produced the workbook, as (label, value): its sheets alone do not say which filter they hold."""
    zone = generated.tzinfo or UTC
    shown, total = len(data.ranking["suppliers"]), data.ranking["total"]
    suppliers = f"{shown} ranked of {total}"
    if shown < total:
        suppliers = (
            f"the {shown} riskiest of {total} ranked (the ranking's limit); "
            f"Late deliveries and Certifications cover all {total}"
        )
    weights = data.ranking["weights"]
    return [
        ("Report", TITLE),
        ("Tenant", tenant),
        ("Generated", f"{generated:{TIMESTAMP_FORMAT}} {zone_name(zone)}"),
        ("As of", data.as_of.isoformat()),
        ("Band", f"{data.band} only" if data.band else "all"),
        ("Certificate window", f"expired, or expiring within {data.compliance['window_days']} days"),
        ("Suppliers", suppliers),
        ("Rank", f"within band {data.band}" if data.band else "overall, among all active suppliers"),
        ("Scores", f"0 = none, 100 = highest; high ≥ 60, medium ≥ 30; {SCORE_CERTIFICATE_RULE}"),
        ("Weights", " · ".join(f"{c} {float(weights[c]):.0%}" for c in COMPONENTS)),
    ]


def render_supplier_risk_xlsx(tenant: str, generated: datetime, data: SupplierRiskData) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = book.add_format({"bold": True, "bg_color": "#1F4E79", "font_color": "#FFFFFF"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    share = book.add_format({"num_format": "0.0%"})
    _about(book, about_rows(tenant, generated, data))
    rows = ranking_rows(data)
    weighted = {i["supplier"]["code"]: weighted_components(i) for i in data.ranking["suppliers"]}
    ranking = [
        [r["rank"], r["code"], r["name"], r["country"], r["overall"], r["band"], *(r[c] for c in COMPONENTS),
         *(weighted[r["code"]][c] for c in COMPONENTS), r["confidence"], r["deliveries"], r["drivers"]]
        for r in rows
    ]  # fmt: skip
    rank = f"Rank within band {data.band}" if data.band else "Overall rank"
    _sheet(book, "Ranking", bold, [rank, "Code", "Supplier", "Country", "Overall", "Band",
           *(c.capitalize() for c in COMPONENTS), *(f"{c.capitalize()} (weighted)" for c in COMPONENTS),
           "Confidence", "Deliveries", "Top drivers"], ranking)  # fmt: skip
    drivers = [
        [item["supplier"]["code"], f["component"], f["factor"], driver_value(f), f["factor_score"],
         f["contribution"], driver_text(f)]
        for item in data.ranking["suppliers"]
        for f in item["top_factors"]
    ]  # fmt: skip
    _sheet(book, "Drivers", bold, ["Code", "Component", "Factor", "Value", "Factor score", "Points added",
           "In words"], drivers)  # fmt: skip
    trend = [
        [data.selected[r.supplier_id], r.month.to_pydatetime(), int(r.lines), int(r.late),
         r.late / r.lines if r.lines else None]
        for r in data.trend.itertuples()
    ]  # fmt: skip
    _sheet(book, "Late deliveries", bold, ["Code", "Month", "Delivered or overdue", "Late or still overdue",
           "Late share"], trend, {1: day, 4: share})  # fmt: skip
    certificates = [
        [c["code"], c["name"], c["standard"], c["reference"], c["expires_on"], c["days_left"], c["state"]]
        for c in certification_rows(data)
    ]
    title = (
        f"Certifications expired or expiring within {data.compliance['window_days']} days of {data.as_of.isoformat()}"
    )
    _sheet(book, "Certifications", bold, ["Code", "Supplier", "Standard", "Reference", "Expires", "Days left",
           "State"], certificates, {4: day}, title=title)  # fmt: skip
    book.close()
    return buffer.getvalue()


def _about(book: Any, facts: Sequence[tuple[str, str]]) -> None:
    sheet = book.add_worksheet("About")
    label = book.add_format({"bold": True})
    for r, (name, value) in enumerate(facts):
        sheet.write_string(r, 0, name, label)
        sheet.write_string(r, 1, value)
    sheet.set_column(0, 0, 20)
    sheet.set_column(1, 1, 90)


def _sheet(
    book: Any,
    name: str,
    bold: Any,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    formats: Any = None,
    *,
    title: str | None = None,
) -> None:
    """A sheet of ``rows`` under ``header``, with ``title`` above them when the sheet's data needs its scope said
    (an empty Certifications sheet still says over which window it found nothing)."""
    sheet = book.add_worksheet(name)
    top = 0
    if title is not None:
        sheet.write_string(0, 0, title, book.add_format({"bold": True}))
        top = 1
    sheet.write_row(top, 0, list(header), bold)
    sheet.freeze_panes(top + 1, 0)
    for r, row in enumerate(rows, start=top + 1):
        for c, value in enumerate(row):
            fmt = (formats or {}).get(c)
            if value is None:
                continue
            if hasattr(value, "year") and fmt is not None:
                sheet.write_datetime(r, c, datetime(value.year, value.month, value.day), fmt)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                sheet.write_number(r, c, value, fmt) if fmt is not None else sheet.write_number(r, c, value)
            else:
                sheet.write_string(r, c, str(value))  # text stays text ('=...' is never a formula)
    sheet.set_column(0, len(header) - 1, 14)
