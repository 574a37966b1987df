"""M4 benchmark: our automatic selection against Nixtla's statsforecast AutoETS/AutoTheta.

Scores the M4 way (mean sMAPE, mean MASE with seasonal lag 24 for Hourly and 1 for Weekly, OWA
relative to Naive2 on the same series), prints a table next to the official score sheet and ends
with one JSON line of headline figures.

    .venv/bin/python bench/forecast_m4.py --frequency Weekly --max-series 40
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import AutoETS, AutoTheta

from training.metrics import mase, smape
from training.models.gradient_boosted import GradientBoostedForecaster
from training.models.statistical import StatisticalForecaster
from training.selection import AutoForecaster

# horizon, pandas frequency, seasonal lag of the official MASE, period used by the models.
SETTINGS = {"Hourly": (48, "h", 24, 24), "Weekly": (13, "W", 1, 52)}
# (sMAPE, MASE) from the competition's published score sheet (../shared/data/README.md).
OFFICIAL = {
    "Hourly": {"Seasonal naive": (13.912, 1.193), "Naive2": (18.383, 2.395), "Theta": (18.138, 2.455),
               "1st overall (ES-RNN)": (9.328, 0.893)},
    "Weekly": {"Seasonal naive": (9.161, 2.777), "Naive2": (9.161, 2.777), "Theta": (9.093, 2.637),
               "1st overall (ES-RNN)": (7.817, 2.356)},
}  # fmt: skip


def load(data_dir: Path, frequency: str, max_series: int | None, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and test long frames with synthetic regular timestamps (M4 publishes none)."""
    train_wide = pd.read_csv(data_dir / f"{frequency}-train.csv", index_col=0)
    test_wide = pd.read_csv(data_dir / f"{frequency}-test.csv", index_col=0)
    ids = train_wide.index.to_numpy()
    if max_series is not None and max_series < len(ids):
        ids = np.sort(np.random.default_rng(seed).choice(ids, size=max_series, replace=False))
    freq = SETTINGS[frequency][1]
    train, test = [], []
    for uid in ids:
        y = train_wide.loc[uid].dropna().to_numpy(dtype=float)
        future = test_wide.loc[uid].dropna().to_numpy(dtype=float)
        ds = pd.date_range("2000-01-03", periods=len(y) + len(future), freq=freq)
        train.append(pd.DataFrame({"unique_id": uid, "ds": ds[: len(y)], "y": y}))
        test.append(pd.DataFrame({"unique_id": uid, "ds": ds[len(y) :], "y": future}))
    return pd.concat(train, ignore_index=True), pd.concat(test, ignore_index=True)


def naive2(train: pd.DataFrame, horizon: int, period: int) -> pd.Series:
    """M4's Naive2: naive on data seasonally adjusted by classical multiplicative decomposition
    when the M4 autocorrelation test finds seasonality at ``period``."""
    out = []
    for _, group in train.groupby("unique_id", sort=True):
        y = group["y"].to_numpy()
        seasonal = np.ones(period)
        if period > 1 and _seasonality_test(y, period):
            seasonal = _seasonal_indices(y, period)
        index = seasonal[(len(y) + np.arange(horizon)) % period]
        last = y[-1] / seasonal[(len(y) - 1) % period]
        out.append(last * index)
    return pd.Series(np.concatenate(out))


def _acf(y: np.ndarray, k: int) -> float:
    m = y.mean()
    return float(np.sum((y[k:] - m) * (y[:-k] - m)) / np.sum((y - m) ** 2))


def _seasonality_test(y: np.ndarray, period: int) -> bool:
    # As in the M4 organisers' Python code, including its unsquared first term.
    s = _acf(y, 1) + sum(_acf(y, i) ** 2 for i in range(2, period))
    return abs(_acf(y, period)) > 1.645 * np.sqrt((1 + 2 * s) / len(y))


def _seasonal_indices(y: np.ndarray, period: int) -> np.ndarray:
    """Seasonal factors by position ``t % period`` of a classical multiplicative decomposition."""
    weights = np.r_[0.5, np.ones(period - 1), 0.5] / period if period % 2 == 0 else np.ones(period) / period
    trend = np.full(len(y), np.nan)
    half = len(weights) // 2
    trend[half : len(y) - half] = np.convolve(y, weights, mode="valid")
    ratio = y / trend
    factors = np.array([np.nanmean(ratio[i::period]) for i in range(period)])
    return factors / factors.mean()


def peer(model: Callable[[int], object], train: pd.DataFrame, horizon: int, freq: str, period: int) -> pd.Series:
    """Nixtla statsforecast on the full history with its defaults, as a user would run it."""
    m = model(period)
    forecast = StatsForecast(models=[m], freq=freq, n_jobs=1).forecast(df=train, h=horizon)
    return forecast.sort_values(["unique_id", "ds"])[str(m)].reset_index(drop=True)


def ours(train: pd.DataFrame, horizon: int, freq: str, max_history: int) -> tuple[pd.Series, pd.DataFrame]:
    regular = {
        "seasonal_naive": lambda: StatisticalForecaster("seasonal_naive"),
        "auto_ets": lambda: StatisticalForecaster("auto_ets", max_history=max_history),
        "auto_theta": lambda: StatisticalForecaster("auto_theta", max_history=max_history),
        "xgboost": lambda: GradientBoostedForecaster(
            n_estimators=600, max_rows_per_series=2 * max_history, calendar=False, n_jobs=2
        ),
    }
    model = AutoForecaster(regular, horizon=horizon, n_windows=2).fit(train, freq)
    forecast = model.predict(horizon).sort_values(["unique_id", "ds"])
    assert model.selection_ is not None
    return forecast["yhat"].reset_index(drop=True), model.selection_


def evaluate(train: pd.DataFrame, test: pd.DataFrame, forecast: pd.Series, lag: int) -> tuple[float, float]:
    test = test.sort_values(["unique_id", "ds"]).assign(f=forecast.to_numpy())
    histories = {uid: g["y"].to_numpy() for uid, g in train.groupby("unique_id")}
    s, m = [], []
    for uid, g in test.groupby("unique_id", sort=True):
        y, f = g["y"].to_numpy(), g["f"].to_numpy()
        s.append(smape(y, f))
        m.append(mase(y, f, histories[uid], lag))
    return float(np.mean(s)), float(np.mean(m))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[1] / "../shared/data/m4")
    parser.add_argument("--frequency", choices=sorted(SETTINGS), default="Weekly")
    parser.add_argument("--max-series", type=int, default=None, help="random sample of series, for speed")
    parser.add_argument("--max-history", type=int, default=520, help="recent observations our models use")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    horizon, freq, lag, period = SETTINGS[args.frequency]
    train, test = load(args.data_dir, args.frequency, args.max_series, args.seed)
    n_series = train["unique_id"].nunique()

    results: dict[str, tuple[float, float, float]] = {}
    runs: dict[str, Callable[[], pd.Series]] = {
        "Naive2": lambda: naive2(train, horizon, lag if lag > 1 else 1),
        "statsforecast AutoETS": lambda: peer(lambda m: AutoETS(season_length=m), train, horizon, freq, period),
        "statsforecast AutoTheta": lambda: peer(lambda m: AutoTheta(season_length=m), train, horizon, freq, period),
    }
    selection = pd.DataFrame()
    for name, run in runs.items():
        start = time.perf_counter()
        forecast = run()
        results[name] = (*evaluate(train, test, forecast, lag), time.perf_counter() - start)
    start = time.perf_counter()
    forecast, selection = ours(train, horizon, freq, args.max_history)
    results["Chainsight auto (selection/ensemble)"] = (
        *evaluate(train, test, forecast, lag),
        time.perf_counter() - start,
    )

    base_smape, base_mase, _ = results["Naive2"]

    def owa(s: float, m: float) -> float:
        return (s / base_smape + m / base_mase) / 2

    print(f"M4 {args.frequency}: {n_series} series, horizon {horizon}, MASE lag {lag}")
    print(f"{'method':<40}{'sMAPE':>9}{'MASE':>9}{'OWA':>8}{'wall s':>9}")
    for name, (s, m, wall) in results.items():
        print(f"{name:<40}{s:>9.3f}{m:>9.3f}{owa(s, m):>8.3f}{wall:>9.1f}")
    print("official score sheet (all series of the subset):")
    off_smape, off_mase = OFFICIAL[args.frequency]["Naive2"]
    for name, (s, m) in OFFICIAL[args.frequency].items():
        print(f"  {name:<38}{s:>9.3f}{m:>9.3f}{(s / off_smape + m / off_mase) / 2:>8.3f}")
    print("selected models:", selection["model"].value_counts().to_dict())
    ours_s, ours_m, ours_wall = results["Chainsight auto (selection/ensemble)"]
    headline = {
        "frequency": args.frequency,
        "series": n_series,
        "smape": round(ours_s, 3),
        "mase": round(ours_m, 3),
        "owa": round(owa(ours_s, ours_m), 3),
        "wall_s": round(ours_wall, 1),
        "peer_autoets_smape": round(results["statsforecast AutoETS"][0], 3),
        "peer_autotheta_smape": round(results["statsforecast AutoTheta"][0], 3),
        "naive2_smape": round(base_smape, 3),
    }
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
