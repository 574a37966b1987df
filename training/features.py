"""Lag, rolling and calendar features for global models, normalised per series and window.

Each row describes one target time ``t`` from the ``context`` values before it. Values are
expressed relative to the local level (mean of the last ``level_window`` values) and divided by a
local scale, so one model can learn from series of any size and trees can follow trends. Which
scale is used matters: dividing by the level makes errors relative (what sMAPE rewards), dividing
by the mean seasonal difference makes them relative to the series' own seasonal noise (what MASE
rewards); the geometric mean of the two sits in between. ``GradientBoostedForecaster`` bags one
model per scaling.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from training.frequency import seasonalities

CALENDAR_FEATURES = ("hour", "dayofweek", "day", "week", "month")
SCALINGS = ("level", "seasonal_diff", "blend")
# Lags and windows further back than this many steps cost more context than they add signal.
_MAX_CONTEXT_LAG = 400


@dataclass(frozen=True)
class FeatureSpec:
    """Which lags and rolling windows to compute, in steps, and how rows are normalised."""

    lags: tuple[int, ...]
    windows: tuple[int, ...]
    level_window: int
    season: int = 1
    scaling: str = "level"
    calendar: tuple[str, ...] = CALENDAR_FEATURES

    def __post_init__(self) -> None:
        if self.scaling not in SCALINGS:
            raise ValueError(f"scaling must be one of {SCALINGS}, got {self.scaling!r}")
        if set(self.calendar) - set(CALENDAR_FEATURES):
            raise ValueError(f"calendar features must come from {CALENDAR_FEATURES}, got {self.calendar}")

    @classmethod
    def for_frequency(cls, freq: str, scaling: str = "level", *, calendar: bool = True) -> FeatureSpec:
        """Lags and windows that cover the frequency's seasonal cycles.

        Recent lags span two main periods when that is at most 48 steps (hourly: two days),
        otherwise 24 steps; then every multiple of the main period up to the longest period
        (hourly: each day of the past week), each longer period and its neighbours (167-169 h)
        and twice each period. The level is the mean of the longest period up to 168 steps, so a
        daily cycle does not move it. Calendar features are those that vary within a few seasons
        of the frequency (hourly: hour and weekday; weekly: week and month); ``calendar=False``
        drops them, for data whose timestamps are synthetic.
        """
        periods = seasonalities(freq)
        main, longest = periods[0], max(periods)
        recent = 2 * main if 2 * main <= 48 else 24
        lags = set(range(1, max(recent, 4) + 1))
        if main > 1:
            lags |= {k * main for k in range(1, min(longest // main, 7) + 1)}
            for period in periods:
                lags |= {period - 1, period, period + 1} if period >= 24 else {period}
                lags |= {2 * period, period + main}
        lags = {lag for lag in lags if lag <= _MAX_CONTEXT_LAG}
        windows = {w for w in (4, *periods, 2 * longest) if 1 < w <= _MAX_CONTEXT_LAG}
        level_window = max([p for p in periods if p <= 168] or [main, 4])
        return cls(
            lags=tuple(sorted(lags)),
            windows=tuple(sorted(windows)),
            level_window=max(level_window, 4),
            season=main,
            scaling=scaling,
            calendar=_calendar_for(freq) if calendar else (),
        )

    def with_scaling(self, scaling: str) -> FeatureSpec:
        return replace(self, scaling=scaling)

    @property
    def context(self) -> int:
        """How many past values one row needs."""
        return max(*self.lags, *self.windows, self.level_window, 2 * self.season)

    @property
    def names(self) -> list[str]:
        return [
            *(f"lag{lag}" for lag in self.lags),
            *(f"mean{w}" for w in self.windows),
            *(f"std{w}" for w in self.windows),
            *self.calendar,
        ]


def window_features(context: np.ndarray, spec: FeatureSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features from a ``(rows, spec.context)`` matrix of past values (NaN where unknown).

    Returns the feature matrix (without calendar columns), the local level of each row (the
    origin targets are measured from) and its scale (the unit they are measured in). The last
    column of ``context`` must be known.
    """
    level = np.nanmean(context[:, -spec.level_window :], axis=1)
    scale = local_scale(context, level, spec)[:, None]
    lags = (context[:, [-lag for lag in spec.lags]] - level[:, None]) / scale
    means = np.column_stack([np.nanmean(context[:, -w:], axis=1) for w in spec.windows]) - level[:, None]
    stds = np.column_stack([np.nanstd(context[:, -w:], axis=1) for w in spec.windows])
    return np.hstack([lags, means / scale, stds / scale]), level, scale[:, 0]


def local_scale(context: np.ndarray, level: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """Per row, the unit of the normalised values under ``spec.scaling``; never zero or NaN."""
    magnitude = _positive(np.abs(level), np.nanmean(np.abs(context), axis=1))
    if spec.scaling == "level":
        return magnitude
    lag = spec.season if spec.season > 1 and context.shape[1] > spec.season else 1
    with warnings.catch_warnings():
        # Early rows have no complete seasonal pair yet; they fall back to the magnitude.
        warnings.simplefilter("ignore", RuntimeWarning)
        noise = _positive(np.nanmean(np.abs(context[:, lag:] - context[:, :-lag]), axis=1), magnitude)
    return noise if spec.scaling == "seasonal_diff" else np.sqrt(noise * magnitude)


def _positive(values: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """``values`` where finite and positive, else ``fallback`` where that is, else 1."""
    fallback = np.where(np.isfinite(fallback) & (fallback > 0), fallback, 1.0)
    return np.where(np.isfinite(values) & (values > 0), values, fallback)


def _calendar_for(freq: str) -> tuple[str, ...]:
    offset = pd.tseries.frequencies.to_offset(freq)
    # Calendar offsets (weeks anchored on a weekday, months, years) have no fixed Timedelta.
    fixed = {"Week": pd.Timedelta(weeks=offset.n), "BusinessDay": pd.Timedelta(days=offset.n)}
    step = fixed.get(type(offset).__name__, pd.Timedelta(days=365))
    with contextlib.suppress(ValueError):
        step = pd.Timedelta(offset)
    if step < pd.Timedelta(days=1):
        return ("hour", "dayofweek")
    if step < pd.Timedelta(days=7):
        return ("dayofweek", "day", "month")
    if step < pd.Timedelta(days=28):
        return ("week", "month")
    return ("month",)


def calendar_features(ds: pd.DatetimeIndex | pd.Series, names: tuple[str, ...] = CALENDAR_FEATURES) -> np.ndarray:
    """The named calendar fields (hour, day of week, day of month, ISO week, month) of each timestamp."""
    index = pd.DatetimeIndex(ds)
    fields = {
        "hour": lambda: index.hour,
        "dayofweek": lambda: index.dayofweek,
        "day": lambda: index.day,
        "week": lambda: index.isocalendar().week.to_numpy(dtype=float),
        "month": lambda: index.month,
    }
    if not names:
        return np.empty((len(index), 0))
    return np.column_stack([fields[name]() for name in names]).astype(float)


def design_matrix(
    history: pd.DataFrame,
    spec: FeatureSpec,
    max_rows_per_series: int | None = None,
    covariates: tuple[str, ...] = (),
    steps_ahead: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Features and normalised targets for every time with at least one past value.

    ``history`` must be validated (sorted by ``unique_id, ds``). ``max_rows_per_series`` keeps
    the most recent rows of each series, which bounds training cost on long histories. The
    ``covariates`` columns' values at the target time follow the calendar columns, unscaled.

    With ``steps_ahead`` = H each row's target lies k steps past its context instead of one, k
    drawn uniformly from 1..H (as far as the series reaches) and appended as the last column:
    the rows of a direct model of the k-step-ahead distribution.
    """
    rng = np.random.default_rng(seed)
    blocks_x, blocks_z = [], []
    for _, group in history.groupby("unique_id", sort=True):
        y = group["y"].to_numpy(dtype=float)
        padded = np.concatenate([np.full(spec.context, np.nan), y])
        windows = np.lib.stride_tricks.sliding_window_view(padded, spec.context + 1)[1:]
        # Rows before a full level window is known describe the series badly; drop them unless
        # that would leave less than half of a short series.
        first = spec.level_window if len(windows) >= 2 * spec.level_window else 0
        if max_rows_per_series is not None:
            first = max(first, len(windows) - max_rows_per_series)
        windows = windows[first:]
        feats, level, scale = window_features(windows[:, :-1], spec)
        target = 1 + first + np.arange(len(windows))  # index in y of each row's target
        extra: list[np.ndarray] = []
        if steps_ahead is not None:
            reach = np.minimum(steps_ahead, len(y) - target)  # the furthest step each row can see
            k = 1 + np.floor(rng.random(len(windows)) * reach).astype(int)
            target = target + k - 1
            extra.append(k[:, None].astype(float))
        calendar = calendar_features(group["ds"].to_numpy()[target], spec.calendar)
        exogenous = group[list(covariates)].to_numpy(dtype=float)[target]
        blocks_x.append(np.hstack([feats, calendar, exogenous, *extra]))
        blocks_z.append((y[target] - level) / scale)
    return np.vstack(blocks_x), np.concatenate(blocks_z)
