"""Ray Train global models against the statistical selection, on the same held-out windows.

The comparison the train job makes before it promotes a model (``training.train_job``): the last
``--horizon`` steps of every series are held out; the statistical selection of the nightly batch
(``planning.auto_forecaster``, profile fast) and each Ray Train model (DeepAR/LSTM with TorchTrainer, xgboost
with XGBoostTrainer, on ``--workers`` CPU workers) are fitted on the rest and scored with the same MASE.
Data: ``--input`` (CSV/Parquet, ``unique_id, ds, y``) or a generated panel (``--series`` series of
``--length`` days peaking once every 10 days at their own phase and scale: a shared pattern a weekly model
cannot express). Prints a table and ends with one JSON line.

    flock /tmp/chainsight-heavy.lock .venv/bin/python bench/ray_train_vs_selection.py --series 12 --epochs 3
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import ray

from common.ray_connection import connect_ray
from training.compute import TrainCompute
from training.train_job import fit_kind, holdout_scores, split_holdout, statistical_holdout


def pulse_panel(series: int, length: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(series):
        peak = (np.arange(length) + rng.integers(0, 10)) % 10 == 9
        y = np.maximum(np.round((5 + 3 * i) * np.where(peak, 9.0, 1.0) + rng.normal(0, 0.5, length)), 0)
        frames.append(pd.DataFrame({"unique_id": f"s{i}", "ds": pd.date_range("2026-01-01", periods=length), "y": y}))
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--input", type=Path, default=None, help="unique_id, ds, y (CSV or Parquet), daily")
    parser.add_argument("--series", type=int, default=12)
    parser.add_argument("--length", type=int, default=150)
    parser.add_argument("--horizon", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--models", default="deepar,lstm,xgboost")
    args = parser.parse_args()
    if args.input is None:
        panel, source = pulse_panel(args.series, args.length), f"generated 10-day pulse, {args.series} x {args.length}"
    else:
        frame = pd.read_parquet(args.input) if args.input.suffix == ".parquet" else pd.read_csv(args.input)
        panel, source = frame.assign(ds=pd.to_datetime(frame["ds"])), str(args.input)
    train, test = split_holdout(panel[["unique_id", "ds", "y"]], args.horizon)
    started = time.perf_counter()
    baseline = holdout_scores(statistical_holdout(train, "D", args.horizon), train, test, "D")
    results: dict[str, dict[str, Any]] = {
        "statistical_selection": {**baseline, "seconds": time.perf_counter() - started}
    }
    connect_ray(num_cpus=max(2, args.workers), log_to_driver=False)
    try:
        for kind in args.models.split(","):
            started = time.perf_counter()
            model, _, _, device = fit_kind(
                kind, train, panel, "D", horizon=args.horizon, epochs=args.epochs,
                compute=TrainCompute(workers=args.workers), storage_path=tempfile.mkdtemp(prefix="bench-train-"),
            )  # fmt: skip
            scores = holdout_scores(model.predict(args.horizon), train, test, "D")
            results[kind] = {**scores, "seconds": time.perf_counter() - started, "device": device}
    finally:
        ray.shutdown()
    print(f"{'model':<24}{'MASE':>8}{'sMAPE':>9}{'seconds':>9}   ({source}, holdout {args.horizon} steps)")
    for name, row in results.items():
        print(f"{name:<24}{row['mase']:>8.3f}{row['smape']:>9.2f}{row['seconds']:>9.1f}")
    print(json.dumps({"bench": "ray_train_vs_selection", "data": source, "horizon": args.horizon,
                      "epochs": args.epochs, "workers": args.workers, "results": results}))  # fmt: skip


if __name__ == "__main__":
    main()
