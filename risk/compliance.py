"""Compliance status from certifications and audits: per supplier and for the whole tenant.

A supplier is ``non_compliant`` with an expired certification, a failed latest audit or an overdue audit;
``expiring`` when a certification expires within the warning window; ``unknown`` with nothing on file;
otherwise ``compliant``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from risk.scoring import EXPIRY_WARNING_DAYS

STATUSES = ("non_compliant", "expiring", "unknown", "compliant")


def supplier_status(
    certifications: list[dict[str, Any]], audits: list[dict[str, Any]], today: date, window_days: int
) -> dict[str, Any]:
    certs = []
    for c in certifications:
        days_left = (c["expires_on"] - today).days
        state = "expired" if days_left < 0 else "expiring" if days_left <= window_days else "valid"
        certs.append({**c, "days_to_expiry": days_left, "state": state})
    latest = max(audits, key=lambda a: a["audited_on"]) if audits else None
    issues = [f"{c['standard']} expired on {c['expires_on']}" for c in certs if c["state"] == "expired"]
    if latest is not None and latest["outcome"] == "fail":
        issues.append(f"latest audit ({latest['audited_on']}) failed")
    if latest is not None and latest.get("next_due") is not None and latest["next_due"] < today:
        issues.append(f"audit overdue since {latest['next_due']}")
    if issues:
        status = "non_compliant"
    elif any(c["state"] == "expiring" for c in certs):
        status = "expiring"
        issues = [f"{c['standard']} expires in {c['days_to_expiry']} days" for c in certs if c["state"] == "expiring"]
    elif not certs and latest is None:
        status = "unknown"
        issues = ["no certification or audit on file"]
    else:
        status = "compliant"
    return {"status": status, "issues": issues, "certifications": certs, "latest_audit": latest}


async def compliance_status(
    conn: asyncpg.Connection, supplier_id: Any, today: date, window_days: int = EXPIRY_WARNING_DAYS
) -> dict[str, Any]:
    certs = await conn.fetch(
        "SELECT id, standard, reference, issued_on, expires_on FROM app.supplier_certifications "
        "WHERE supplier_id = $1 ORDER BY expires_on",
        supplier_id,
    )
    audits = await conn.fetch(
        "SELECT audited_on, score::float8 AS score, outcome, next_due FROM app.supplier_audits WHERE supplier_id = $1",
        supplier_id,
    )
    return supplier_status([dict(c) for c in certs], [dict(a) for a in audits], today, window_days)


async def tenant_report(
    conn: asyncpg.Connection, today: date, window_days: int = EXPIRY_WARNING_DAYS
) -> dict[str, Any]:
    """Every active supplier's status, counts per status, and certifications expiring within the window."""
    suppliers = await conn.fetch("SELECT id, code, name FROM app.suppliers WHERE active ORDER BY code")
    certs = await conn.fetch(
        "SELECT id, supplier_id, standard, reference, issued_on, expires_on FROM app.supplier_certifications"
    )
    audits = await conn.fetch(
        "SELECT supplier_id, audited_on, score::float8 AS score, outcome, next_due FROM app.supplier_audits"
    )
    by_supplier: dict[Any, dict[str, list[dict[str, Any]]]] = {s["id"]: {"c": [], "a": []} for s in suppliers}
    for c in certs:
        if c["supplier_id"] in by_supplier:
            by_supplier[c["supplier_id"]]["c"].append({k: v for k, v in dict(c).items() if k != "supplier_id"})
    for a in audits:
        if a["supplier_id"] in by_supplier:
            by_supplier[a["supplier_id"]]["a"].append({k: v for k, v in dict(a).items() if k != "supplier_id"})
    rows = []
    for s in suppliers:
        status = supplier_status(by_supplier[s["id"]]["c"], by_supplier[s["id"]]["a"], today, window_days)
        rows.append({"supplier_id": s["id"], "code": s["code"], "name": s["name"], **status})
    rows.sort(key=lambda r: (STATUSES.index(r["status"]), r["code"]))
    upcoming = sorted(
        (
            {"supplier_id": r["supplier_id"], "code": r["code"], **c}
            for r in rows
            for c in r["certifications"]
            if c["state"] == "expiring"
        ),
        key=lambda c: c["expires_on"],
    )
    return {
        "as_of": today,
        "window_days": window_days,
        "counts": {status: sum(1 for r in rows if r["status"] == status) for status in STATUSES},
        "expiring_certifications": upcoming,
        "suppliers": rows,
    }
