"""On a machine with a GPU: one DeepAR and one LSTM epoch on CUDA and one xgboost fit with device="cuda", timed.

    python scripts/gpu_check.py [--series 200] [--length 365] [--rounds 200]

Needs CUDA torch and xgboost's CUDA build (the GPU image, ``docker build --build-arg VARIANT=gpu``). The same
fits run on CPU first, so the line printed at the end compares the two on the same data. Exits 2 when no GPU
is visible. Prints one JSON line at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def panel(series: int, length: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "unique_id": f"s{i}",
                    "ds": pd.date_range("2024-01-01", periods=length, freq="D"),
                    "y": (i % 7 + 1) * (50 + 15 * (t % 7 < 5) + rng.normal(0, 3, length)),
                }
            )
            for i in range(series)
        ],
        ignore_index=True,
    )


def timed(label: str, fit: Any) -> float:
    started = time.perf_counter()
    fit()
    seconds = time.perf_counter() - started
    print(f"{label:<24} {seconds:8.2f} s", flush=True)
    return seconds


def main() -> None:
    import torch
    import xgboost

    from training.compute import TrainCompute
    from training.models.gradient_boosted import GradientBoostedForecaster
    from training.models.neural import NeuralForecaster

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=200)
    parser.add_argument("--length", type=int, default=365)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print(f"no CUDA device visible to torch {torch.__version__}: nothing to check", file=sys.stderr)
        raise SystemExit(2)
    data = panel(args.series, args.length)
    figures: dict[str, Any] = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__}
    figures.update(xgboost=xgboost.__version__, series=args.series, length=args.length)
    for compute in (TrainCompute(gpus_per_worker=0), TrainCompute(gpus_per_worker=1)):
        side, accelerator = compute.xgboost_device, compute.lightning_accelerator
        for kind in ("deepar", "lstm"):
            model = NeuralForecaster(kind, horizon=14, epochs=1, batch_size=256, accelerator=accelerator)
            figures[f"{kind}_epoch_{side}_s"] = timed(f"{kind} 1 epoch ({side})", lambda m=model: m.fit(data, "D"))
        booster = GradientBoostedForecaster(n_estimators=args.rounds, scalings=("level",), device=side)
        label = f"xgboost {args.rounds} rounds ({side})"
        figures[f"xgboost_fit_{side}_s"] = timed(label, lambda b=booster: b.fit(data, "D"))
    print(json.dumps({"gpu_check": figures}))


if __name__ == "__main__":
    main()
