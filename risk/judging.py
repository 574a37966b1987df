"""What a disruption-model training run hands to its promotion besides the model (``risk.pipeline.train_judged``):
the lines on which it is judged against the champion, kept in memory, never stored."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypedDict

import numpy as np
import pandas as pd
import xgboost as xgb

from risk.model import Calibration

# Fits one booster per (features, labels) set, all in one call: a Ray Train fitter starts its workers once.
Fitter = Callable[[Sequence[tuple[pd.DataFrame, np.ndarray]]], list[xgb.Booster]]


class TrainOptions(TypedDict, total=False):
    """``risk.pipeline.train_judged``'s keywords, which ``train_disruption_model`` forwards."""

    fitter: Fitter | None
    as_of: pd.Timestamp | None
    rival_as_of: pd.Timestamp | None
    calibration_share: float
    decision_share: float
    decision_windows: int
    final_calibration_share: float
    calibration: Calibration | None


@dataclass(frozen=True)
class RivalRows:
    """The lines promised on or after the day each settled on for the champion (its as-of day ``as_of``, or the
    line's warehouse's date at its run; so none taught it) and settled as of the candidate's, each scored by the
    scorer that the candidate's procedure chose and fitted on what was settled then (the ``trial``'s
    probabilities): the same information the champion had, none of these lines' outcomes."""

    as_of: pd.Timestamp
    features: pd.DataFrame
    late: np.ndarray
    trial: np.ndarray


@dataclass(frozen=True)
class WindowRows:
    """The decision windows' lines that a trial scored, in order, with the served scorer's window probabilities
    (each out of sample), and the lines of the comparison with the champion (``rival``; None without the
    champion's as-of day or too few lines settled by then): what ``risk.promotion`` scores a champion against."""

    features: pd.DataFrame
    late: np.ndarray
    order_date: pd.Series
    served: np.ndarray
    rival: RivalRows | None = None
