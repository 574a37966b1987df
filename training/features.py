"""Lag, rolling and calendar features for global models, normalised per series and window.

Each row describes one target time ``t`` from the ``context`` values before it. Values are
expressed relative to the local level (mean of the last ``level_window`` values) and divided by
the series scale, so one model can learn from series of any size and trees can follow trends.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from training.frequency import seasonalities

CALENDAR_FEATURES = ("hour", "dayofweek", "day", "week", "month")


@dataclass(frozen=True)
class FeatureSpec:
    """Which lags and rolling windows to compute, in steps."""

    lags: tuple[int, ...]
    windows: tuple[int, ...]
    level_window: int

    @classmethod
    def for_frequency(cls, freq: str) -> FeatureSpec:
        """Recent lags, one and two seasons back, rolling windows of four steps and one season."""
        periods = seasonalities(freq)
        main = periods[0]
        lags = set(range(1, max(min(main, 24), 4) + 1)) | set(periods)
        if main > 1:
            lags.add(2 * main)
        windows = {w for w in (4, *periods) if w > 1}
        return cls(lags=tuple(sorted(lags)), windows=tuple(sorted(windows)), level_window=max(main, 4))

    @property
    def context(self) -> int:
        """How many past values one row needs."""
        return max(*self.lags, *self.windows, self.level_window)

    @property
    def names(self) -> list[str]:
        return [
            *(f"lag{lag}" for lag in self.lags),
            *(f"mean{w}" for w in self.windows),
            *(f"std{w}" for w in self.windows),
            *CALENDAR_FEATURES,
        ]


def window_features(context: np.ndarray, spec: FeatureSpec, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Features from a ``(rows, spec.context)`` matrix of past values (NaN where unknown).

    Returns the feature matrix (without calendar columns) and the local level of each row, the
    origin that targets are measured from. The last column of ``context`` must be known.
    """
    level = np.nanmean(context[:, -spec.level_window :], axis=1)
    scale_col = scale[:, None]
    lags = (context[:, [-lag for lag in spec.lags]] - level[:, None]) / scale_col
    means = np.column_stack([np.nanmean(context[:, -w:], axis=1) for w in spec.windows]) - level[:, None]
    stds = np.column_stack([np.nanstd(context[:, -w:], axis=1) for w in spec.windows])
    return np.hstack([lags, means / scale_col, stds / scale_col]), level


def calendar_features(ds: pd.DatetimeIndex | pd.Series) -> np.ndarray:
    """Hour, day of week, day of month, ISO week and month of each timestamp."""
    index = pd.DatetimeIndex(ds)
    return np.column_stack(
        [
            index.hour,
            index.dayofweek,
            index.day,
            index.isocalendar().week.to_numpy(dtype=float),
            index.month,
        ]
    ).astype(float)


def series_scale(y: np.ndarray) -> float:
    """Mean absolute value of a series, 1 for an all-zero series."""
    scale = float(np.mean(np.abs(y)))
    return scale if scale > 0 else 1.0


def design_matrix(
    history: pd.DataFrame, spec: FeatureSpec, max_rows_per_series: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Features and normalised targets for every time with at least one past value.

    ``history`` must be validated (sorted by ``unique_id, ds``). ``max_rows_per_series`` keeps
    the most recent rows of each series, which bounds training cost on long histories.
    """
    blocks_x, blocks_z = [], []
    for _, group in history.groupby("unique_id", sort=True):
        y = group["y"].to_numpy(dtype=float)
        padded = np.concatenate([np.full(spec.context, np.nan), y])
        windows = np.lib.stride_tricks.sliding_window_view(padded, spec.context + 1)[1:]
        first = 0 if max_rows_per_series is None else max(0, len(windows) - max_rows_per_series)
        windows = windows[first:]
        scale = np.full(len(windows), series_scale(y))
        feats, level = window_features(windows[:, :-1], spec, scale)
        calendar = calendar_features(group["ds"].iloc[1 + first :])
        blocks_x.append(np.hstack([feats, calendar]))
        blocks_z.append((windows[:, -1] - level) / scale)
    return np.vstack(blocks_x), np.concatenate(blocks_z)
