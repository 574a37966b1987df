"""What the supplier risk report shows, read in one tenant transaction: the ranking ``/ai/risk/suppliers`` answers
(same function, same day, so the same scores and bands whatever the report's window) and the compliance report
``/ai/risk/compliance?window_days=`` answers over the report's window (which only selects the certificates
listed), the monthly late-delivery trend, and each top factor put into words."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import pandas as pd

from common.database import TenantTransaction
from risk import compliance, repository, service
from risk.scoring import EXPIRY_WARNING_DAYS, PRIOR_DEFECT, PRIOR_FILL, PRIOR_LEAD_CV, PRIOR_ON_TIME

TREND_MONTHS = 12
RANK_LIMIT = 500  # the ranking API's largest page: every supplier of any real tenant; the PDF's tables stop there
# Operational rates the score shrinks towards a prior: (words, what was seen, decimals of the percentages, prior).
ESTIMATES = {
    "on_time_rate": ("on-time rate", "", 0, PRIOR_ON_TIME),
    "lead_time_cv": ("lead-time variation", "coefficient of variation {}", 0, PRIOR_LEAD_CV),
    "fill_rate": ("fill rate", "on average {} of a line's ordered quantity delivered", 1, PRIOR_FILL),
    "defect_rate": ("defect rate", "on average {} of a line's received quantity rejected", 2, PRIOR_DEFECT),
}

# Factors that are one figure of the supplier's: the figure in words, and what is said when there is none.
FIGURES: dict[str, tuple[Callable[[Any], str], str]] = {
    "days_payable": (lambda days: f"pays its own suppliers after {days} days", "no days-payable figure"),
    "revenue_trend_pct": (lambda pct: f"revenue trend {float(pct):+.1f}%", "no revenue trend on file"),
    "distance_km": (lambda km: f"{float(km):,.0f} km from our warehouses", "no distance on file"),
    "spend_share": (lambda share: f"{float(share):.0%} of our purchase spend", "share of purchase spend"),
}


@dataclass(frozen=True)
class SupplierRiskData:
    as_of: date
    ranking: dict[str, Any]  # risk.service.rank_suppliers: the first RANK_LIMIT, "total" of them all
    compliance: dict[str, Any]  # risk.compliance.tenant_report
    trend: pd.DataFrame  # supplier_id, month, lines (delivered or overdue), late (late or still overdue)
    band: str | None  # the filter: only suppliers in this band, or all active ones
    selected: dict[str, str]  # every supplier the filter selects, ranked or past the cut: id (text) -> code


async def gather(
    tx: TenantTransaction, today: date, band: str | None = None, window_days: int = EXPIRY_WARNING_DAYS
) -> SupplierRiskData:
    """The trend and the certifications cover every supplier the filter selects (all active ones, or the band's);
    only the ranking is cut at RANK_LIMIT, so an expired certificate of the 501st supplier is still reported.
    ``window_days`` selects the certificates listed; the scores are the app's, whose certifications driver counts
    a certificate as expiring within its own EXPIRY_WARNING_DAYS."""
    # Overdue lines on each receiving warehouse's calendar, as the API's and the nightly scan's scores count them.
    now = datetime.now(UTC)
    everyone = await service.rank_suppliers(tx, today, limit=None, band=band, at=now)
    ranking = {**everyone, "suppliers": everyone["suppliers"][:RANK_LIMIT]}
    selected = {str(item["supplier"]["id"]): item["supplier"]["code"] for item in everyone["suppliers"]}
    report = await compliance.tenant_report(tx.conn, today, window_days)
    report = {**report, "suppliers": [s for s in report["suppliers"] if str(s["supplier_id"]) in selected]}
    trend = await late_delivery_trend(tx.conn, today, now)
    trend = trend[trend["supplier_id"].isin(list(selected))].reset_index(drop=True)
    return SupplierRiskData(today, ranking, report, trend, band, selected)


async def late_delivery_trend(
    conn: asyncpg.Connection, today: date, at: datetime | None = None, months: int = TREND_MONTHS
) -> pd.DataFrame:
    """Order lines per supplier (its id as text) and month they were due, over the months of ``trend_months``:
    those delivered and those still open past their promised date, and how many of them are late (delivered
    after the promised date, or still open past it). The same rule as the on-time rate in the score
    (``risk.repository.supplier_facts``, given the same ``today`` and ``at``): an overdue open line is late
    whenever it comes, and with ``at`` (now) it is overdue past its promised date on its receiving warehouse's
    calendar."""
    first = trend_months(today, months)[0].date()
    rows = await conn.fetch(
        f"""
        SELECT supplier_id::text, date_trunc('month', promised_date)::date AS month, count(*) AS lines,
               count(*) FILTER (WHERE delivered_date > promised_date OR delivered_date IS NULL) AS late
        FROM (
            SELECT h.*, {repository.dock_today(at="$3", today="$2")} AS dock_today
            FROM app.risk_delivery_history h
            LEFT JOIN app.purchase_orders po ON po.id = h.purchase_order_id
            LEFT JOIN app.warehouses w ON w.tenant_id = po.tenant_id AND w.id = po.warehouse_id
        ) history
        -- An open line counts from the day after its promised date, as in the score's overdue count.
        WHERE (delivered_date IS NOT NULL OR promised_date < dock_today) AND promised_date >= $1
          AND promised_date <= $2
        GROUP BY 1, 2
        ORDER BY 2, 1
        """,
        first,
        today,
        at,
    )
    frame = pd.DataFrame([dict(r) for r in rows], columns=["supplier_id", "month", "lines", "late"])
    frame["month"] = pd.to_datetime(frame["month"])
    return frame


def trend_months(today: date, months: int = TREND_MONTHS) -> list[pd.Timestamp]:
    return list(pd.date_range(end=pd.Timestamp(today.replace(day=1)), periods=months, freq="MS"))


def late_rates(trend: pd.DataFrame, months: list[pd.Timestamp], supplier_id: str | None = None) -> list[float | None]:
    """Late share per month for one supplier (or all when None); None for a month with no line delivered or
    overdue."""
    rows = trend if supplier_id is None else trend[trend["supplier_id"] == supplier_id]
    by_month = rows.groupby("month")[["lines", "late"]].sum()
    rates: list[float | None] = []
    for month in months:
        if month in by_month.index and by_month.loc[month, "lines"] > 0:
            rates.append(float(by_month.loc[month, "late"]) / float(by_month.loc[month, "lines"]))
        else:
            rates.append(None)
    return rates


def driver_text(factor: dict[str, Any]) -> str:
    """One top factor of ``risk.scoring.assess`` as a phrase: 'estimated on-time rate 61% (0 of 2 on time,
    weighted towards the 85% prior) (operational, +5.5)'."""
    value: Any = factor.get("value")
    score, name = float(factor["factor_score"]), factor["factor"]
    if name == "credit_rating":
        text = f"credit rating {value}" if value else "no credit rating on file"
    elif name in FIGURES:
        phrase, missing = FIGURES[name]
        text = phrase(value) if value is not None else missing
    elif name in ESTIMATES:
        return f"{_estimate_text(factor)} ({factor['component']}, +{float(factor['contribution']):.1f})"
    elif name == "country_risk":
        text = f"country risk {value}: {score:.0f}/100" if value else "country unknown"
    elif name == "single_sourced_share":
        text = f"sole source of {float(value or 0):.0%} of its products"
    elif name == "certifications":
        text = f"certifications: {value}"
    elif name == "latest_audit":
        audit = _audit_parts(value) if isinstance(value, dict) else None
        text = f"latest audit {audit[0]} ({audit[1]}, {audit[2]})" if audit else "no audit on file"
    else:
        text = f"{name.replace('_', ' ')} {value}"
    note = factor.get("note")
    if note and note not in text:
        text += f" [{note}]"
    return f"{text} ({factor['component']}, +{float(factor['contribution']):.1f})"


def driver_value(factor: dict[str, Any]) -> str | float | None:
    """A top factor's value as a workbook cell: a number as a number, a code or phrase as text, the audit in the
    PDF's words, and nothing where the supplier has no figure (the factor's words say so)."""
    value: Any = factor.get("value")
    if value is None or isinstance(value, str):
        return value
    if factor["factor"] == "latest_audit" and isinstance(value, dict):
        return ", ".join(_audit_parts(value))
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return float(value)
    # A factor shape this report does not know: refused rather than written as Python's repr of it.
    raise TypeError(f"no cell format for factor {factor['factor']!r} with a {type(value).__name__} value")


def _audit_parts(audit: dict[str, Any]) -> tuple[str, str, str]:
    """The latest audit's outcome, score and date, in the same words in the PDF and in the workbook."""
    return str(audit["outcome"]), f"score {float(audit['score']):g}", str(audit["audited_on"])


def _estimate_text(factor: dict[str, Any]) -> str:
    """An operational rate is shrunk towards a prior (``risk.scoring``): named an estimate, with what was seen."""
    label, seen_as, digits, prior = ESTIMATES[factor["factor"]]
    observed = factor.get("observed") or {}
    deliveries = int(observed.get("deliveries", 0))
    text, prior_text = f"estimated {label} {float(factor['value']):.{digits}%}", f"the {prior:.{digits}%} prior"
    if factor["factor"] == "on_time_rate":
        overdue = int(observed.get("overdue", 0))
        if not deliveries + overdue:
            return f"{text} (no deliveries: {prior_text})"
        seen = f"{observed.get('on_time', 0)} of {deliveries + overdue} on time"
        if overdue:
            seen += f", {overdue} of them still open past the promised date"
    elif not deliveries:
        return f"{text} (no deliveries: {prior_text})"
    elif observed.get("rate") is None:
        return f"{text} (not measured over {_deliveries(deliveries)}: {prior_text})"
    else:
        rate = f"{float(observed['rate']):.{digits}%}"
        seen = f"{seen_as.format(rate)} over {_deliveries(deliveries)}"
    return f"{text} ({seen}, weighted towards {prior_text})"


def _deliveries(count: int) -> str:
    return f"{count} deliver{'y' if count == 1 else 'ies'}"


def weighted_components(assessment: dict[str, Any]) -> dict[str, float]:
    """Each component's share of the overall score (score x weight): the parts sum to the overall score."""
    weights = assessment["weights"]
    return {c: float(v) * float(weights[c]) for c, v in assessment["components"].items()}


def certification_rows(data: SupplierRiskData) -> list[dict[str, Any]]:
    """Expired and soon-expiring certifications, soonest first, with the supplier's name."""
    rows = []
    for supplier in data.compliance["suppliers"]:
        for cert in supplier["certifications"]:
            if cert["state"] in {"expired", "expiring"}:
                rows.append(
                    {
                        "code": supplier["code"],
                        "name": supplier["name"],
                        "standard": cert["standard"],
                        "reference": cert.get("reference"),
                        "expires_on": cert["expires_on"],
                        "days_left": cert["days_to_expiry"],
                        "state": cert["state"],
                    }
                )
    return sorted(rows, key=lambda r: (r["expires_on"], r["code"]))


@dataclass(frozen=True)
class CertificateTable:
    """The certificates a table of at most ``limit`` rows shows, and how many of each state there are in all."""

    rows: list[dict[str, Any]]
    expiring: int
    expired: int

    def shown(self, state: str) -> int:
        return sum(r["state"] == state for r in self.rows)


def certificate_table(certificates: list[dict[str, Any]], limit: int = RANK_LIMIT) -> CertificateTable:
    """The expiring certificates first, soonest first, all of them up to ``limit``: the ones still to act on; then
    the expired ones that lapsed latest, in the room left. The earliest expiries first would fill the table with
    long-lapsed certificates and hide every expiring one."""
    expiring = [c for c in certificates if c["state"] == "expiring"]
    expired = sorted(
        (c for c in certificates if c["state"] == "expired"), key=lambda r: (-r["expires_on"].toordinal(), r["code"])
    )
    rows = sorted(expiring, key=lambda r: (r["expires_on"], r["code"]))[:limit]
    return CertificateTable([*rows, *expired[: limit - len(rows)]], len(expiring), len(expired))
