"""Disruption model on a real delivery history: import into a fresh tenant, backtest at several cutoffs.

The file is imported exactly as `chainsight risk import --create-suppliers` does (the same validation and
rejection report), into a tenant created for this run, in DATABASE_URL's database or the embedded one.
At each cutoff, `chainsight risk backtest`'s code trains on lines ordered before it (the served scorer is
chosen on a time-split holdout inside that period: the booster only if it beats the supplier-late-rate
baseline there) and scores the lines ordered on or after it. Printed: served scorer, booster and baseline
(ROC AUC, PR AUC, Brier, ECE) per cutoff, then one JSON line.

    flock /tmp/chainsight-heavy.lock .venv/bin/python bench/risk_history.py \\
        --file ../shared/data/deliveries/scms_2006_2011.csv --cutoffs 2009-06-01,2010-06-01,2011-01-01
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg

from common.config import get_settings
from deployments.local_stack import ensure_database, migrate
from risk.commands import run_backtest, run_import
from risk.history_import import ImportOptions, parse_currency

GOAL_AUC_MARGIN = 0.03
GOAL_ECE = 0.03


async def fresh_tenant(url: str) -> uuid.UUID:
    """A tenant of its own with one admin (the identity the import and backtest act as)."""
    tenant, admin, suffix = uuid.uuid4(), uuid.uuid4(), uuid.uuid4().hex[:10]
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO app.tenants (id, name, slug) VALUES ($1, $2, $3)",
                tenant,
                f"Risk history bench {suffix}",
                f"risk-bench-{suffix}",
            )
            await conn.execute(
                "INSERT INTO app.members (tenant_id, user_id, role) VALUES ($1, $2, 'admin')", tenant, admin
            )
    finally:
        await conn.close()
    return tenant


def verdict(result: dict[str, Any]) -> dict[str, Any]:
    served, baseline = result["model"], result["baseline_supplier_late_rate"]
    margin = None if served["roc_auc"] is None else round(served["roc_auc"] - baseline["roc_auc"], 4)
    return {
        "auc_margin": margin,
        "brier_lower": served["brier"] < baseline["brier"],
        "goal_met": margin is not None
        and margin >= GOAL_AUC_MARGIN
        and served["brier"] < baseline["brier"]
        and served["ece"] <= GOAL_ECE,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", required=True, help="delivery history CSV in the import's columns")
    parser.add_argument("--cutoffs", default="2009-06-01,2010-06-01,2011-01-01", help="comma-separated dates")
    parser.add_argument("--date-format", default=None, help="strptime format (default: detected)")
    parser.add_argument("--currency", default="USD", help="ISO 4217 code of the file's values (the SCMS data: USD)")
    args = parser.parse_args()
    cutoffs = [date.fromisoformat(c.strip()) for c in args.cutoffs.split(",") if c.strip()]

    url = ensure_database(get_settings(), cleanup=None)
    get_settings.cache_clear()  # the embedded server's URL was exported for the code below
    migrate(url)
    tenant = asyncio.run(fresh_tenant(url))
    started = time.perf_counter()
    options = ImportOptions(date_format=args.date_format, create_suppliers=True, currency=parse_currency(args.currency))
    report = asyncio.run(run_import(Path(args.file), tenant, options))
    import_s = time.perf_counter() - started
    reasons: dict[str, int] = {}
    for rejection in report["rejections"]:
        for error in rejection["errors"]:
            key = re.sub(r"'[^']*'|\d{4}-\d{2}-\d{2}|[\d.]+", "…", error)  # the reason, not the row's values
            reasons[key] = reasons.get(key, 0) + 1
    print(f"import: {report['rows']} rows, {report['inserted']} inserted, {report['rejected']} rejected "
          f"({import_s:.1f} s); date format {report['date_format']}")  # fmt: skip
    for reason, n in sorted(reasons.items(), key=lambda x: -x[1])[:5]:
        print(f"  rejected {n}: {reason}")

    results = []
    header = f"{'cutoff':10} {'scorer':28} {'ROC AUC':>8} {'PR AUC':>8} {'Brier':>8} {'ECE':>8} {'rows':>6}"
    print(header)
    for cutoff in cutoffs:
        started = time.perf_counter()
        result = asyncio.run(run_backtest(cutoff, tenant, None))
        result["seconds"] = round(time.perf_counter() - started, 2)
        result["verdict"] = verdict(result)
        results.append(result)
        rows = [("served: " + result["served"], result["model"]), ("booster (candidate)", result["candidate"]),
                ("baseline: supplier late rate", result["baseline_supplier_late_rate"])]  # fmt: skip
        for name, m in rows:
            print(f"{cutoff.isoformat():10} {name[:28]:28} {m['roc_auc']!s:>8} {m['pr_auc']!s:>8} {m['brier']:>8} "
                  f"{m['ece']:>8} {m['rows']:>6}")  # fmt: skip
        print(f"  {result['reason']}")
        verdicts = result["verdict"]
        print(f"  served - baseline ROC AUC {verdicts['auc_margin']}, goal met: {verdicts['goal_met']}")
    print(
        json.dumps(
            {
                "bench": "risk_history",
                "file": Path(args.file).name,
                "import": {k: report[k] for k in ("rows", "inserted", "rejected", "date_format")},
                "import_s": round(import_s, 2),
                "cutoffs": [
                    {
                        "cutoff": r["cutoff"],
                        "served": r["served"],
                        "served_metrics": r["model"],
                        "candidate": r["candidate"],
                        "baseline_supplier_late_rate": r["baseline_supplier_late_rate"],
                        **r["verdict"],
                    }
                    for r in results
                ],
                "goal_met_everywhere": all(r["verdict"]["goal_met"] for r in results),
            }
        )
    )


if __name__ == "__main__":
    main()
