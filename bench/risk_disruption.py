"""Disruption model benchmark: calibrated xgboost (Ray Train) against two baselines on the same held-out orders.

A realistic generated delivery history (``risk.synthetic``: hidden supplier reliability, country risk, shipment
mode, tight lead times, order size, season) of ``--lines`` purchase-order lines is split by order date: the
oldest 80% train (the booster on the first 80% of those, the calibration map on the rest), the newest 20% are
scored. Baselines, measured in the same run on the same rows: the supplier's historical late rate (shrunk,
point in time) and a logistic regression on the same features. Prints a table and ends with one JSON line.

    flock /tmp/chainsight-ray.lock .venv/bin/python bench/risk_disruption.py --lines 30000 --data-dir .chainsight/bench
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from risk.features import build_features
from risk.model import LogisticBaseline, calibrate, classification_metrics, fit_booster, raw_margin
from risk.pipeline import chronological, labelled_rows, train_disruption_model
from risk.synthetic import generate_history


def load_history(args: argparse.Namespace) -> pd.DataFrame:
    """The generated history, cached as CSV under ``--data-dir`` (reused for the same arguments, days included)."""
    path = Path(args.data_dir) / f"risk_history_{args.lines}_{args.suppliers}_{args.days}d_{args.seed}.csv"
    if path.exists():
        return pd.read_csv(path, parse_dates=["order_date", "promised_date", "delivered_date"])
    history = generate_history(lines=args.lines, suppliers=args.suppliers, days=args.days, seed=args.seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    history.to_csv(path, index=False)
    return history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=30_000, help="purchase-order lines (>= 20000 for the record)")
    parser.add_argument("--suppliers", type=int, default=150)
    parser.add_argument("--days", type=int, default=1_100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="Ray Train workers")
    parser.add_argument("--data-dir", default=".chainsight/bench", help="where the generated history is cached")
    parser.add_argument("--output", help="also write the JSON result to this file")
    parser.add_argument("--no-ray", action="store_true", help="fit in process only (no Ray Train)")
    args = parser.parse_args()

    history = load_history(args)
    started = time.perf_counter()
    rows = labelled_rows(history)
    feature_s = time.perf_counter() - started
    n = len(rows.late)
    test_at = int(n * 0.8)
    calibrate_at = int(test_at * 0.8)
    fit_x, fit_y = rows.features.iloc[:calibrate_at].reset_index(drop=True), rows.late[:calibrate_at]
    cal_x, cal_y = rows.features.iloc[calibrate_at:test_at], rows.late[calibrate_at:test_at]
    test_x, test_y = rows.features.iloc[test_at:], rows.late[test_at:]

    started = time.perf_counter()
    local_booster = fit_booster(fit_x, fit_y)
    local_fit_s = time.perf_counter() - started

    ray_fit_s = None
    booster = local_booster
    if not args.no_ray:
        import ray

        from common.ray_connection import connect_ray
        from risk.training import ray_fitter

        connect_ray(num_cpus=args.workers + 1, log_to_driver=False)
        try:
            started = time.perf_counter()
            (booster,) = ray_fitter(workers=args.workers)([(fit_x, fit_y)])
            ray_fit_s = time.perf_counter() - started
        finally:
            ray.shutdown()

    model = calibrate(booster, cal_x, cal_y, rows.delay[calibrate_at:test_at])
    started = time.perf_counter()
    probability = model.predict(test_x)
    score_s = time.perf_counter() - started
    started = time.perf_counter()
    model.explain(test_x.iloc[:2000])
    explain_s = time.perf_counter() - started
    # End-to-end scoring of open lines as the service does it: features from history, then predict.
    sample = history.iloc[-2000:].assign(as_of=history["order_date"].iloc[-2000:], delivered_date=pd.NaT)
    started = time.perf_counter()
    model.predict(build_features(history, sample))
    end_to_end_s = time.perf_counter() - started

    # What `train_disruption_model` would serve from the same training period (promotion rule included), knowing
    # only the deliveries made before the test period opens (as `risk.backtest.backtest` trains).
    opens = rows.order_date[test_at]
    known = history[history["order_date"] < opens]
    known = known.assign(delivered_date=known["delivered_date"].where(known["delivered_date"] < opens))
    served = train_disruption_model(known, as_of=opens)
    uncalibrated = classification_metrics(test_y, 1 / (1 + np.exp(-raw_margin(booster, test_x))))
    logistic = LogisticBaseline().fit(rows.features.iloc[:test_at], rows.late[:test_at])
    results = {
        "xgboost_calibrated": classification_metrics(test_y, probability),
        f"served_{served.scorer}": classification_metrics(test_y, served.predict(test_x)),
        "xgboost_uncalibrated": uncalibrated,
        "baseline_supplier_late_rate": classification_metrics(test_y, rows.supplier_late_rate[test_at:]),
        "baseline_logistic_regression": classification_metrics(test_y, logistic.predict(test_x)),
        "oracle_true_probability": classification_metrics(
            test_y, chronological(history)["true_p"].to_numpy()[-len(test_y) :]
        ),
    }
    figures = {
        "bench": "risk_disruption",
        "lines": len(history),
        "days": args.days,
        "train_rows": calibrate_at,
        "calibration_rows": test_at - calibrate_at,
        "test_rows": n - test_at,
        "calibration": model.calibrator.method,
        "served_scorer": served.scorer,
        "served_reason": served.reason,
        "models": results,
        "feature_rows_per_s": round(n / feature_s),
        "ray_train_workers": None if args.no_ray else args.workers,
        "ray_train_fit_s": None if ray_fit_s is None else round(ray_fit_s, 2),
        "ray_train_rows_per_s": None if ray_fit_s is None else round(calibrate_at / ray_fit_s),
        "in_process_fit_s": round(local_fit_s, 2),
        "in_process_rows_per_s": round(calibrate_at / local_fit_s),
        "scoring_rows_per_s": round(len(test_y) / score_s),
        "explained_rows_per_s": round(2000 / explain_s),
        "end_to_end_scoring_rows_per_s": round(2000 / end_to_end_s),
        "cpus": os.cpu_count(),
    }
    print(f"{'model':32} {'ROC AUC':>8} {'PR AUC':>8} {'Brier':>8} {'ECE':>8}")
    for name, m in results.items():
        print(f"{name[:32]:32} {m['roc_auc']:>8} {m['pr_auc']:>8} {m['brier']:>8} {m['ece']:>8}")
    print(f"positive rate (test): {results['xgboost_calibrated']['positive_rate']}, test rows {n - test_at}")
    print(
        f"training: Ray Train {figures['ray_train_fit_s']} s ({figures['ray_train_rows_per_s']} rows/s), "
        f"in process {figures['in_process_fit_s']} s ({figures['in_process_rows_per_s']} rows/s)"
    )
    print(
        f"scoring: {figures['scoring_rows_per_s']} rows/s, with explanations {figures['explained_rows_per_s']} "
        f"rows/s, features + scoring {figures['end_to_end_scoring_rows_per_s']} rows/s"
    )
    line = json.dumps(figures)
    if args.output:
        Path(args.output).write_text(line + "\n")
    print(line)


if __name__ == "__main__":
    main()
