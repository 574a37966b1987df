"""Checks for the long-frame data convention ``unique_id, ds, y`` shared by every forecaster."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from training.errors import ForecastInputError
from training.frequency import parse_frequency

REQUIRED_COLUMNS = ("unique_id", "ds", "y")


def validate_history(df: pd.DataFrame, freq: str, min_length: int = 1) -> pd.DataFrame:
    """A clean copy of ``df`` (sorted, ``ds`` datetime, ``y`` float) or a ForecastInputError.

    Every series must sit on the regular ``freq`` grid with no missing timestamps and hold at
    least ``min_length`` observations; use ``fill_gaps`` first when demand is recorded sparsely.
    """
    if not isinstance(df, pd.DataFrame):
        raise ForecastInputError(f"history must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ForecastInputError(f"history is missing column(s) {missing}; expected {list(REQUIRED_COLUMNS)}")
    if df.empty:
        raise ForecastInputError("history is empty")
    offset = parse_frequency(freq)
    out = df[list(REQUIRED_COLUMNS)].copy()
    out["unique_id"] = out["unique_id"].astype(str)
    out["ds"] = _as_datetime(out["ds"])
    out["y"] = _as_float(out["y"])
    duplicated = out.duplicated(["unique_id", "ds"])
    if duplicated.any():
        first = out.loc[duplicated].iloc[0]
        raise ForecastInputError(
            f"{int(duplicated.sum())} duplicate (unique_id, ds) row(s), "
            f"e.g. unique_id={first['unique_id']!r} ds={first['ds']}"
        )
    out = out.sort_values(["unique_id", "ds"], ignore_index=True)
    lengths = out.groupby("unique_id", sort=True).size()
    short = lengths[lengths < min_length]
    if not short.empty:
        raise ForecastInputError(
            f"{len(short)} series shorter than the {min_length} observations required, "
            f"e.g. unique_id={short.index[0]!r} has {int(short.iloc[0])}"
        )
    for uid, ds in out.groupby("unique_id", sort=False)["ds"]:
        expected = pd.date_range(ds.iloc[0], periods=len(ds), freq=offset)
        if not np.array_equal(expected.to_numpy(), ds.to_numpy()):
            raise ForecastInputError(
                f"series {uid!r} is not on a regular {freq!r} grid from {ds.iloc[0]} "
                f"(missing or misaligned timestamps); fill gaps with training.validation.fill_gaps"
            )
    return out


def fill_gaps(df: pd.DataFrame, freq: str, value: float = 0.0) -> pd.DataFrame:
    """``df`` with every missing timestamp of each series added, ``y`` set to ``value``.

    Demand histories usually omit periods without sales: zero is the right fill for them.
    """
    offset = parse_frequency(freq)
    frames = []
    for uid, group in df.groupby("unique_id", sort=True):
        grid = pd.date_range(group["ds"].min(), group["ds"].max(), freq=offset)
        filled = group.set_index("ds")[["y"]].reindex(grid).fillna(value)
        frames.append(filled.rename_axis("ds").reset_index().assign(unique_id=uid))
    return pd.concat(frames, ignore_index=True)[list(REQUIRED_COLUMNS)]


def validate_horizon(horizon: int) -> int:
    """``horizon`` as an int, or a ForecastInputError when it is not a positive whole number."""
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon <= 0:
        raise ForecastInputError(f"horizon must be a positive integer, got {horizon!r}")
    return int(horizon)


def validate_quantiles(quantiles: Sequence[float] | None) -> list[float]:
    """Sorted distinct quantile levels, each strictly between 0 and 1."""
    if quantiles is None:
        return []
    levels = sorted({float(q) for q in quantiles})
    bad = [q for q in levels if not 0.0 < q < 1.0]
    if bad:
        raise ForecastInputError(f"quantiles must lie strictly between 0 and 1, got {bad}")
    return levels


def quantile_column(q: float) -> str:
    """The column holding quantile ``q`` in a forecast frame, e.g. ``q0.1``."""
    return f"q{q:g}"


def quantile_levels(columns: Sequence[object]) -> list[float]:
    """The quantile levels present among ``columns`` (the ``q<level>`` ones), sorted."""
    levels = []
    for column in columns:
        text = str(column)
        if text.startswith("q"):
            try:
                level = float(text[1:])
            except ValueError:
                continue
            if 0.0 < level < 1.0:
                levels.append(level)
    return sorted(levels)


def _as_datetime(ds: pd.Series) -> pd.Series:
    try:
        converted = pd.to_datetime(ds)
    except (ValueError, TypeError) as exc:
        raise ForecastInputError(f"column 'ds' cannot be read as datetimes: {exc}") from exc
    if converted.isna().any():
        raise ForecastInputError(f"column 'ds' has {int(converted.isna().sum())} missing timestamp(s)")
    return converted


def _as_float(y: pd.Series) -> pd.Series:
    if not (pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)):
        raise ForecastInputError(f"column 'y' must be numeric, got dtype {y.dtype}")
    values = y.astype(float)
    if not np.isfinite(values).all():
        raise ForecastInputError(f"column 'y' has {int((~np.isfinite(values)).sum())} missing or infinite value(s)")
    return values


def future_dates(history: pd.DataFrame, horizon: int, freq: str) -> pd.DataFrame:
    """``unique_id, ds`` for the ``horizon`` steps after the last timestamp of each series."""
    offset = parse_frequency(freq)
    last = history.groupby("unique_id", sort=True)["ds"].max()
    frames = [
        pd.DataFrame({"unique_id": uid, "ds": pd.date_range(end, periods=horizon + 1, freq=offset)[1:]})
        for uid, end in last.items()
    ]
    return pd.concat(frames, ignore_index=True)
