"""Supplier risk: four components (financial, operational, geographical, compliance), each 0-100 where
0 is no risk and 100 the highest, combined with per-tenant weights into one score, with the factors that
contributed most.

Every factor is a transparent rule on one observed value. Operational rates are shrunk towards a neutral
prior with a pseudo-count, so a supplier with two deliveries is not judged on them alone; a supplier with
no history gets the prior, and the assessment says its confidence is low.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from common.errors import InvalidInputError

COMPONENTS = ("financial", "operational", "geographical", "compliance")
DEFAULT_WEIGHTS = {"financial": 0.25, "operational": 0.35, "geographical": 0.2, "compliance": 0.2}
WEIGHT_SUM_TOLERANCE = 0.001

CREDIT_RISK = {"AAA": 2, "AA": 5, "A": 10, "BBB": 20, "BB": 40, "B": 60, "CCC": 80, "CC": 90, "C": 95, "D": 100}
UNKNOWN = 50.0  # the score of a factor with no data: neither good nor bad

# Neutral operational priors and their weight in deliveries (see the module docstring).
PRIOR_DELIVERIES = 5.0
PRIOR_ON_TIME = 0.85
PRIOR_LEAD_CV = 0.2
PRIOR_FILL = 0.97
PRIOR_DEFECT = 0.01
# The score's rule: a certificate expiring within this many days is "expiring" for the certifications driver,
# whatever window a report lists certificates over or the scan alerts on them over (one score everywhere).
EXPIRY_WARNING_DAYS = 60


@dataclass(frozen=True)
class DeliveryStats:
    """Completed deliveries of one supplier, and its open lines already past their promised date."""

    deliveries: int = 0
    on_time: int = 0
    overdue: int = 0  # open and past their promise: late whenever they come, so they count in the on-time rate
    lead_mean: float | None = None
    lead_std: float | None = None
    # Per-line means, each line's ratio in its own unit: summed quantities add grams to pieces, and the line of
    # 100,000 g would outweigh nine lines of 10 pieces. The line counts weigh them against the prior.
    fill_lines: int = 0  # delivered lines with a quantity ordered
    fill_mean: float | None = None  # of their received / ordered, each at most 1
    defect_lines: int = 0  # delivered lines with a quantity received
    defect_mean: float | None = None  # of their rejected / received, each at most 1


@dataclass(frozen=True)
class Certification:
    standard: str
    expires_on: date


@dataclass(frozen=True)
class Audit:
    audited_on: date
    score: float
    outcome: str
    next_due: date | None = None


@dataclass(frozen=True)
class SupplierFacts:
    credit_rating: str | None = None
    days_payable: int | None = None
    revenue_trend_pct: float | None = None
    country: str | None = None
    country_risk: float | None = None
    distance_km: float | None = None
    shipment_mode: str | None = None
    spend_share: float | None = None  # of the tenant's purchase spend, 0-1
    spend_currencies: list[str] | None = None  # the spend's currencies when several (then no share is computed)
    single_sourced_share: float | None = None  # of the supplier's products with no other supplier, 0-1
    deliveries: DeliveryStats = field(default_factory=DeliveryStats)
    certifications: tuple[Certification, ...] = ()
    audits: tuple[Audit, ...] = ()


@dataclass(frozen=True)
class Factor:
    component: str
    name: str
    value: Any
    score: float
    weight: float  # within its component
    note: str = ""
    # What a shrunk estimate was computed from (deliveries, and the counts or raw rate), so it can be told apart.
    observed: dict[str, Any] | None = None


def validate_weights(weights: dict[str, float]) -> dict[str, float]:
    """Weights must name the four components, each in [0, 1], summing to 1 (within 0.001) once rounded to the
    four decimals they are kept with; returns them rounded."""
    unknown = sorted(set(weights) - set(COMPONENTS))
    missing = sorted(set(COMPONENTS) - set(weights))
    if unknown or missing:
        raise InvalidInputError(
            f"weights must name exactly {', '.join(COMPONENTS)}",
            code="invalid_weights",
            details={"unknown": unknown, "missing": missing},
        )
    out_of_range = {k: v for k, v in weights.items() if not 0 <= v <= 1}
    if out_of_range:
        raise InvalidInputError(
            "each weight must be between 0 and 1", code="invalid_weights", details={"out_of_range": out_of_range}
        )
    # Checked as stored (numeric(5, 4), rounded half away from zero), or the table's own sum check refuses them.
    weights = {k: float(Decimal(str(v)).quantize(Decimal("0.0001"), ROUND_HALF_UP)) for k, v in weights.items()}
    total = sum(weights.values())
    if abs(total - 1) > WEIGHT_SUM_TOLERANCE + 1e-9:
        raise InvalidInputError(
            f"weights must sum to 1 (got {total:.4f}); they are shares of the overall score",
            code="invalid_weights",
            details={"sum": round(total, 6)},
        )
    return {k: float(weights[k]) for k in COMPONENTS}


def financial_factors(facts: SupplierFacts) -> list[Factor]:
    rating = facts.credit_rating
    return [
        Factor("financial", "credit_rating", rating, float(CREDIT_RISK[rating]) if rating else UNKNOWN, 0.6,
               "" if rating else "no credit rating on file"),
        Factor("financial", "days_payable", facts.days_payable,
               _scale(facts.days_payable, 45, 120) if facts.days_payable is not None else UNKNOWN, 0.2,
               "" if facts.days_payable is not None else "no days-payable figure"),
        Factor("financial", "revenue_trend_pct", facts.revenue_trend_pct,
               _scale(-facts.revenue_trend_pct, 0, 33) if facts.revenue_trend_pct is not None else UNKNOWN, 0.2,
               "" if facts.revenue_trend_pct is not None else "no revenue trend"),
    ]  # fmt: skip


def operational_factors(stats: DeliveryStats) -> list[Factor]:
    n, k = stats.deliveries, PRIOR_DELIVERIES
    on_time = (stats.on_time + k * PRIOR_ON_TIME) / (n + stats.overdue + k)
    # Same-day deliveries (a mean lead time of 0) are measured too: max(..., 1.0) guards the division.
    std, mean = stats.lead_std, stats.lead_mean
    cv = std / max(mean, 1.0) if std is not None and mean is not None else None
    lead_cv = ((cv * n if cv is not None else PRIOR_LEAD_CV * n) + k * PRIOR_LEAD_CV) / (n + k)
    fill = _shrunk(stats.fill_mean, stats.fill_lines, PRIOR_FILL)
    defect = _shrunk(stats.defect_mean, stats.defect_lines, PRIOR_DEFECT)
    note = "" if n else "no delivery history: population prior"
    late_note = f"{stats.overdue} open line(s) past their promised date count as late" if stats.overdue else note
    counts = {"deliveries": n, "on_time": stats.on_time, "overdue": stats.overdue}
    return [
        Factor("operational", "on_time_rate", round(on_time, 4), (1 - on_time) * 100, 0.4, late_note, counts),
        Factor("operational", "lead_time_cv", round(lead_cv, 4), _scale(lead_cv, 0, 0.5), 0.2, note,
               _observed(n, cv)),
        Factor("operational", "fill_rate", round(fill, 4), _scale(1 - fill, 0, 0.25), 0.2, note,
               _observed(n, stats.fill_mean)),
        Factor("operational", "defect_rate", round(defect, 4), _scale(defect, 0, 0.05), 0.2, note,
               _observed(n, stats.defect_mean)),
    ]  # fmt: skip


def _shrunk(mean: float | None, lines: int, prior: float) -> float:
    """A per-line mean over ``lines`` lines, shrunk towards ``prior`` with the pseudo-count of deliveries."""
    if mean is None or not lines:
        return prior
    return (mean * lines + PRIOR_DELIVERIES * prior) / (lines + PRIOR_DELIVERIES)


def _observed(deliveries: int, rate: float | None) -> dict[str, Any]:
    """The raw rate a shrunk one started from (None when there was nothing to measure: the prior alone)."""
    return {"deliveries": deliveries, "rate": None if rate is None or not deliveries else round(rate, 4)}


def geographical_factors(facts: SupplierFacts) -> list[Factor]:
    route = None
    if facts.distance_km is not None:
        modifier = {"sea": 10.0, "air": -10.0}.get(facts.shipment_mode or "", 0.0)
        route = min(max(facts.distance_km / 120 + modifier, 0.0), 100.0)
    return [
        Factor("geographical", "country_risk", facts.country,
               facts.country_risk if facts.country_risk is not None else UNKNOWN, 0.5,
               "" if facts.country_risk is not None else "country unknown or not in the reference table"),
        Factor("geographical", "distance_km", facts.distance_km, route if route is not None else UNKNOWN, 0.2,
               "" if route is not None else "no distance on file"),
        _spend_share(facts),
        Factor("geographical", "single_sourced_share",
               None if facts.single_sourced_share is None else round(facts.single_sourced_share, 4),
               UNKNOWN if facts.single_sourced_share is None else facts.single_sourced_share * 100, 0.15,
               "" if facts.single_sourced_share is not None else "no purchases naming a product in the last year"),
    ]  # fmt: skip


def _spend_share(facts: SupplierFacts) -> Factor:
    if facts.spend_currencies:
        return Factor("geographical", "spend_share", None, UNKNOWN, 0.15,
                      f"spend in {', '.join(facts.spend_currencies)}: no share without exchange rates")  # fmt: skip
    if facts.spend_share is None:
        return Factor("geographical", "spend_share", None, 0.0, 0.15, "no purchases in the last year")
    return Factor("geographical", "spend_share", round(facts.spend_share, 4), _scale(facts.spend_share, 0, 0.4), 0.15)


def _standards(names: list[str]) -> str:
    """Each standard once, with its count where it repeats ("ISO 9001 (3 certificates), IATF 16949"): until
    2026-12-08 a supplier with hundreds of certificates of one standard had a driver text taller than a PDF page (a
    500 on the report)."""
    return ", ".join(
        f"{name} ({count} certificates)" if count > 1 else name for name, count in sorted(Counter(names).items())
    )


def compliance_factors(facts: SupplierFacts, today: date) -> list[Factor]:
    """The certifications (expired, or expiring within EXPIRY_WARNING_DAYS) and the latest audit."""
    if not facts.certifications:
        certification = Factor("compliance", "certifications", "none on file", 60.0, 0.5, "no certification on file")
    else:
        expired = [c.standard for c in facts.certifications if c.expires_on < today]
        expiring = [c.standard for c in facts.certifications if 0 <= (c.expires_on - today).days <= EXPIRY_WARNING_DAYS]
        if expired:
            certification = Factor("compliance", "certifications", f"expired: {_standards(expired)}", 100.0, 0.5)
        elif expiring:
            certification = Factor("compliance", "certifications", f"expiring: {_standards(expiring)}", 50, 0.5)
        else:
            certification = Factor("compliance", "certifications", "all valid", 0.0, 0.5)
    if not facts.audits:
        audit = Factor("compliance", "latest_audit", None, UNKNOWN, 0.5, "no audit on file")
    else:
        latest = max(facts.audits, key=lambda a: a.audited_on)
        base = {"fail": 100.0, "conditional": max(50.0, 100 - latest.score)}.get(latest.outcome, 100 - latest.score)
        overdue = latest.next_due is not None and latest.next_due < today
        audit = Factor(
            "compliance",
            "latest_audit",
            {"outcome": latest.outcome, "score": latest.score, "audited_on": latest.audited_on.isoformat()},
            min(100.0, base + (30.0 if overdue else 0.0)),
            0.5,
            "next audit overdue" if overdue else "",
        )
    return [certification, audit]


def assess(facts: SupplierFacts, weights: dict[str, float], today: date, top: int = 5) -> dict[str, Any]:
    """Component scores, the weighted overall score, its band, confidence and top contributing factors."""
    factors = [
        *financial_factors(facts),
        *operational_factors(facts.deliveries),
        *geographical_factors(facts),
        *compliance_factors(facts, today),
    ]
    components = {}
    for component in COMPONENTS:
        mine = [f for f in factors if f.component == component]
        components[component] = round(sum(f.score * f.weight for f in mine) / sum(f.weight for f in mine), 2)
    overall = round(sum(components[c] * weights[c] for c in COMPONENTS), 2)
    contributions = sorted(
        (
            {
                "component": f.component,
                "factor": f.name,
                "value": f.value,
                "factor_score": round(f.score, 2),
                "contribution": round(f.score * f.weight * weights[f.component], 2),
                **({"note": f.note} if f.note else {}),
                **({"observed": f.observed} if f.observed is not None else {}),
            }
            for f in factors
        ),
        key=lambda item: -item["contribution"],
    )
    unknown = [f"{f.component}.{f.name}" for f in factors if (f.note and f.score == UNKNOWN) or "prior" in f.note]
    return {
        "overall": overall,
        "band": "high" if overall >= 60 else "medium" if overall >= 30 else "low",
        "components": components,
        "weights": weights,
        "confidence": confidence(facts.deliveries.deliveries, len(unknown)),
        "deliveries": facts.deliveries.deliveries,
        "missing_data": sorted(set(unknown)),
        "top_factors": contributions[:top],
    }


def confidence(deliveries: int, missing: int) -> str:
    """From the amount of delivery history; one level lower when four or more factors had no data."""
    levels = ("low", "medium", "high")
    level = 0 if deliveries < 10 else 1 if deliveries < 30 else 2
    return levels[max(level - (1 if missing >= 4 else 0), 0)]


def _scale(value: float | None, low: float, high: float) -> float:
    """0 at ``low``, 100 at ``high``, linear between, clipped."""
    if value is None:
        return UNKNOWN
    return float(min(max((value - low) / (high - low) * 100, 0.0), 100.0))
