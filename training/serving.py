"""Forecasts from a Ray Train champion's checkpoint, for serving (no Ray, no HTTP here).

``TrainedModels`` keeps the loaded checkpoints of the champions a process has served, keyed by run:
each is read from storage once per process (a Serve replica) and reused for every request; when a new
run becomes champion its id is new, so the next request loads it and the least recently used one is
dropped. A series the run was not trained and held-out scored on gets ``None`` (``TrainedRun.trained_on_series``):
a product added since training, or one with less history than the train job asks (``MIN_HISTORY_HORIZONS``), which
no run has been compared with the baseline on; the caller fits the statistical selection instead.

An xgboost checkpoint holds the point booster only. Its intervals are the fitted path's (the statistical selection on
the same history, ``training.planning.forecast_panel``): for a series that never went negative, that selection's
quantiles scaled by the booster's forecast over the selection's (``_carried_quantile``), else their distance from the
selection's forecast added to the booster's. Quantile boosters fitted at request time on the one series' history were
in-sample and held about half of the following days inside the "80%" interval (until 2026-12-07).

A replica answers several requests at once, each in a thread, sharing the loaded model, so one forecast
at a time runs on it (``_Loaded.predicting``): a Lightning prediction sets the network to eval mode and,
when it ends, restores the mode it found, which left overlapping ones running in training mode (the
LSTM's teacher forcing gave other figures, DeepAR failed), and PyTorch's RNNs are not thread-safe.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from training.models.base import POINT_COLUMN
from training.validation import quantile_column

TRAINED_KINDS = ("deepar", "lstm", "xgboost")
LIGHTNING_CHECKPOINT = "checkpoint.ckpt"  # written by ray.train.lightning.RayTrainReportCallback
XGBOOST_CHECKPOINT = "model.ubj"  # written by ray.train.xgboost.RayTrainReportCallback
# An xgboost forecast's quantiles scale the selection's where its point is above this share of the history's mean.
RATIO_FLOOR = 0.05


@dataclass(frozen=True)
class TrainedRun:
    run_id: str
    version: int
    kind: str
    artifact_uri: str
    freq: str
    horizon: int
    # The served series' own holdout MASE (the run's ``metrics.series_mase``), not the run's mean; None: not recorded.
    holdout_mase: float | None
    # Whether the served series is among those the run was trained and held-out scored on (``series_mase``'s keys).
    trained_on_series: bool = False


def load_checkpoint(run: TrainedRun) -> Any:
    """The trained network (DeepAR/LSTM) or point booster (xgboost) of ``run``, on CPU."""
    if run.kind == "xgboost":
        import xgboost as xgb

        booster = xgb.Booster()
        booster.load_model(str(Path(run.artifact_uri) / XGBOOST_CHECKPOINT))
        return booster
    from pytorch_forecasting import DeepAR, RecurrentNetwork

    network_class = DeepAR if run.kind == "deepar" else RecurrentNetwork
    path = str(Path(run.artifact_uri) / LIGHTNING_CHECKPOINT)
    network = network_class.load_from_checkpoint(path, map_location="cpu", weights_only=False)
    # A checkpoint loads in training mode (dropout on; the LSTM decodes with teacher forcing): serve in eval mode.
    return network.eval()


@dataclass
class _Loaded:
    model: Any
    predicting: threading.Lock = field(default_factory=threading.Lock)


class TrainedModels:
    def __init__(self, loader: Callable[[TrainedRun], Any] = load_checkpoint, capacity: int = 8) -> None:
        self._loader, self._capacity = loader, capacity
        self._loaded: OrderedDict[tuple[str, str], _Loaded] = OrderedDict()
        # Held while a checkpoint loads too, so that concurrent first requests for a champion read it once.
        self._loading = threading.Lock()
        self.loads = 0

    def model(self, run: TrainedRun) -> Any:
        return self._entry(run).model

    def _entry(self, run: TrainedRun) -> _Loaded:
        # Keyed by the checkpoint too: a run retrained under its run key (a rerun of the same night) has a new one.
        key = (run.run_id, run.artifact_uri)
        with self._loading:
            if key in self._loaded:
                self._loaded.move_to_end(key)
            else:
                for stale in [k for k in self._loaded if k[0] == run.run_id]:
                    del self._loaded[stale]
                self._loaded[key] = _Loaded(self._loader(run))
                self.loads += 1
                while len(self._loaded) > self._capacity:
                    self._loaded.popitem(last=False)
            return self._loaded[key]

    def forecast(
        self, run: TrainedRun, history: pd.DataFrame, horizon: int, quantiles: Sequence[float]
    ) -> dict[str, Any] | None:
        """``history`` (``unique_id, ds, y``, one series) forecast by ``run``'s model; None if it cannot."""
        if horizon > run.horizon or not run.trained_on_series:
            return None
        intervals = ""
        if run.kind == "xgboost":
            from training.features import FeatureSpec
            from training.models.gradient_boosted import GradientBoostedForecaster

            if len(history) < GradientBoostedForecaster.min_length:
                return None  # a series stocked since the last period: the fitted path answers it (a 400 before)
            loaded = self._entry(run)

            spec = FeatureSpec.for_frequency(run.freq)
            forecaster: Any = GradientBoostedForecaster(spec=spec).attach(loaded.model, history, run.freq)
            with loaded.predicting:
                frame = forecaster.predict(horizon, [])
            frame, selected = _with_fitted_spread(frame, history, run.freq, horizon, quantiles)
            intervals = f"; its intervals are the fitted selection's ({selected}) spread around this forecast"
        else:
            from training.models.neural import Kind, NeuralForecaster

            loaded = self._entry(run)

            encoder = loaded.model.dataset_parameters["categorical_encoders"].get("__group_id__unique_id")
            if encoder is not None and not set(history["unique_id"]) <= set(encoder.classes_):
                return None  # trained without this series: its normaliser and identity are unknown
            kind: Kind = "deepar" if run.kind == "deepar" else "lstm"
            forecaster = NeuralForecaster(kind, horizon=run.horizon).attach(loaded.model, history, run.freq)
            with loaded.predicting:
                frame = forecaster.predict(horizon, list(quantiles))
        mase = "not recorded" if run.holdout_mase is None else f"{run.holdout_mase:.3f}"
        return {
            "model": run.kind,
            "reason": (
                f"Ray Train champion run v{run.version} ({run.kind}, holdout MASE on this series {mase}), "
                f"forecast now from its checkpoint on the latest history{intervals}"
            ),
            "history_length": len(history),
            "backtest_mase": run.holdout_mase,
            "candidates": [],
            "points": [
                {
                    "ds": pd.Timestamp(r["ds"]).isoformat(),
                    "yhat": max(float(r[POINT_COLUMN]), 0.0),
                    "quantiles": {f"{q:g}": max(float(r[quantile_column(q)]), 0.0) for q in quantiles},
                }
                for _, r in frame.sort_values("ds").iterrows()
            ],
        }


def _with_fitted_spread(
    points: pd.DataFrame, history: pd.DataFrame, freq: str, horizon: int, quantiles: Sequence[float]
) -> tuple[pd.DataFrame, str]:
    """``points`` (one series' ``unique_id, ds`` and point forecast) with the quantiles of the fitted path's selection
    on ``history`` carried to the booster's forecast (``_carried_quantile``); and the model that selection chose."""
    from training.planning import forecast_panel

    fitted = forecast_panel(history[["unique_id", "ds", "y"]], freq, horizon, quantiles, profile="fast")
    spread = fitted.forecast.sort_values("ds")
    out = points.sort_values("ds").reset_index(drop=True)
    booster, selected = out[POINT_COLUMN].to_numpy(), spread[POINT_COLUMN].to_numpy()
    # A level the selection's point can be scaled from: under it a ratio would blow the spread up (a point of 1e-9).
    floor = RATIO_FLOOR * float(history["y"].mean()) if bool((history["y"] >= 0).all()) else np.inf
    for q in quantiles:
        out[quantile_column(q)] = _carried_quantile(spread[quantile_column(q)].to_numpy(), booster, selected, floor)
    return out, str(fitted.selection["model"].iloc[0])


def _carried_quantile(quantile: np.ndarray, booster: np.ndarray, selected: np.ndarray, floor: float) -> np.ndarray:
    """The selection's ``quantile`` for the booster's point: scaled by booster / selection point where the selection's
    point is above ``floor`` (demand, whose spread grows with its level), moved by their difference elsewhere.

    Until 2026-12-07 it was only moved, which raised the 10% bound of intermittent demand above zero wherever the
    booster's weekday point sat above the selection's flat mean: on lumpy weekly series 30% of held-out days fell below
    it, 0.60 inside 10-90% (the selection alone 0.90); scaled, its zero quantiles stay zero: 0.90 inside, none below."""
    scalable = selected > floor
    ratio = np.clip(booster, 0.0, None) / np.where(scalable, selected, 1.0)
    return np.where(scalable, quantile * ratio, quantile + booster - selected)
