"""Checks for the long-frame data convention ``unique_id, ds, y`` shared by every forecaster."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd
from pandas.tseries.offsets import BaseOffset

from training.errors import ForecastInputError
from training.frequency import parse_frequency

REQUIRED_COLUMNS = ("unique_id", "ds", "y")


def covariate_columns(df: pd.DataFrame) -> tuple[str, ...]:
    """The columns of a long frame beyond ``unique_id, ds, y``: exogenous regressors (price, promotion...)."""
    return tuple(str(c) for c in df.columns if c not in REQUIRED_COLUMNS)


def validate_history(df: pd.DataFrame, freq: str, min_length: int = 1, covariates: Sequence[str] = ()) -> pd.DataFrame:
    """A clean copy of ``df`` (sorted, ``ds`` datetime, ``y`` float) or a ForecastInputError.

    Every series must sit on the regular ``freq`` grid with no missing timestamps and hold at
    least ``min_length`` observations; use ``fill_gaps`` first when demand is recorded sparsely.
    The ``covariates`` columns are kept (numeric, no missing values); other columns are dropped.
    """
    if not isinstance(df, pd.DataFrame):
        raise ForecastInputError(f"history must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ForecastInputError(f"history is missing column(s) {missing}; expected {list(REQUIRED_COLUMNS)}")
    if df.empty:
        raise ForecastInputError("history is empty")
    offset = parse_frequency(freq)
    absent = [c for c in covariates if c not in df.columns]
    if absent:
        raise ForecastInputError(f"history lacks covariate column(s) {absent}")
    out = df[[*REQUIRED_COLUMNS, *covariates]].copy()
    out["unique_id"] = out["unique_id"].astype(str)
    out["ds"] = _as_datetime(out["ds"])
    out["y"] = numeric_values(out["y"])
    for column in covariates:
        out[column] = numeric_values(out[column], column)
    _refuse_duplicates(out)
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
    Covariate columns are carried forward from the last known period (backward at the start).
    """
    offset = parse_frequency(freq)
    if df.empty:
        raise ForecastInputError("history is empty")
    _refuse_duplicates(df)  # reindexing onto the grid needs one row per timestamp
    covariates = list(covariate_columns(df))
    frames = []
    for uid, group in df.groupby("unique_id", sort=True):
        grid = pd.date_range(group["ds"].min(), group["ds"].max(), freq=offset)
        off_grid = group["ds"][~group["ds"].isin(grid)]
        if not off_grid.empty:
            # Reindexing would drop them and fill their places with ``value``: real demand read as none.
            raise ForecastInputError(
                f"series {uid!r} has {len(off_grid)} timestamp(s) off the {freq!r} grid, e.g. "
                f"{off_grid.iloc[0]}: {_grid_hint(off_grid, offset)}"
            )
        filled = group.set_index("ds")[["y", *covariates]].reindex(grid)
        filled["y"] = filled["y"].fillna(value)
        filled[covariates] = filled[covariates].ffill().bfill()
        frames.append(filled.rename_axis("ds").reset_index().assign(unique_id=uid))
    return pd.concat(frames, ignore_index=True)[[*REQUIRED_COLUMNS, *covariates]]


def _grid_hint(off_grid: pd.Series, offset: BaseOffset) -> str:
    if (off_grid != off_grid.dt.normalize()).any():
        return "the timestamps carry a time of day: give dates, or a frequency as fine as the times"
    weekdays = off_grid.dt.day_name().str[:3].str.upper().unique()
    if isinstance(offset, pd.offsets.Week) and len(weekdays) == 1:
        return f"give the frequency the dates fall on (W-{weekdays[0]} for weeks dated on that weekday)"
    return "give the frequency the dates fall on (W-MON for weeks dated Monday, MS for month starts, ME for month ends)"


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


def _refuse_duplicates(df: pd.DataFrame) -> None:
    duplicated = df.duplicated(["unique_id", "ds"])
    if duplicated.any():
        first = df.loc[duplicated].iloc[0]
        stamp = first["ds"]
        # Local times without an offset repeat an hour when the clocks go back: the offset tells them apart.
        local_time = isinstance(stamp, datetime) and stamp.tzinfo is None and stamp.hour > 0
        hint = " (a local time repeated when the clocks went back? give each its UTC offset)" if local_time else ""
        raise ForecastInputError(
            f"{int(duplicated.sum())} duplicate (unique_id, ds) row(s), "
            f"e.g. unique_id={first['unique_id']!r} ds={first['ds']}{hint}"
        )


def _as_datetime(ds: pd.Series) -> pd.Series:
    """``ds`` as datetimes; dates written as text must be ISO 8601 (2024-02-01, 2024-02-01T09:00+01:00): pandas
    would read 01/02/2024 month-first whatever the caller meant (a planner's file has its own reading,
    ``training.file_forecast``, before it gets here)."""
    # Only an object column can hold text: a datetime column (the ledger's, a batch's panel) is not walked row by row.
    textual = ds.dtype == object or pd.api.types.is_string_dtype(ds)  # pandas' string dtypes and categoricals too
    strings = ds.map(lambda value: isinstance(value, str)) if textual else pd.Series(False, index=ds.index)
    try:
        converted = pd.to_datetime(ds, format="ISO8601") if strings.any() else pd.to_datetime(ds)
    except (ValueError, TypeError) as exc:
        if strings.any() and not isinstance(exc, pd.errors.OutOfBoundsDatetime):
            _refuse_non_iso(ds[strings])
        raise ForecastInputError(f"column 'ds' cannot be read as datetimes: {exc}") from exc
    if converted.isna().any():
        raise ForecastInputError(f"column 'ds' has {int(converted.isna().sum())} missing timestamp(s)")
    return converted


def _refuse_non_iso(texts: pd.Series) -> None:
    unread = texts[pd.to_datetime(texts, format="ISO8601", errors="coerce").isna()]
    for text in dict.fromkeys(unread):  # not ISO 8601, or out of range
        try:
            pd.to_datetime([text], format="ISO8601")
        except pd.errors.OutOfBoundsDatetime:
            continue  # ISO 8601, but out of range: refused with the column below
        except ValueError:
            raise ForecastInputError(
                f"column 'ds' has {text!r}, which is not ISO 8601 (YYYY-MM-DD, or YYYY-MM-DDTHH:MM with an optional "
                "UTC offset): write dates so, rather than have them read day-first or month-first by guess"
            ) from None


def numeric_values(y: pd.Series, name: str = "y") -> pd.Series:
    if not (pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)):
        raise ForecastInputError(f"column {name!r} must be numeric, got dtype {y.dtype}")
    values = y.astype(float)
    if not np.isfinite(values).all():
        raise ForecastInputError(
            f"column {name!r} has {int((~np.isfinite(values)).sum())} missing or infinite value(s)"
        )
    return values


def validate_future(
    future: pd.DataFrame | None, history: pd.DataFrame, horizon: int, freq: str, covariates: Sequence[str]
) -> pd.DataFrame:
    """The covariates' known future values, one row per series and step in ``future_dates`` order.

    A model fitted with covariates needs their values over the whole horizon: a missing
    frame, column, series, step or value is a ForecastInputError naming it.
    """
    steps = future_dates(history, horizon, freq)
    if not covariates:
        return steps
    if future is None:
        raise ForecastInputError(
            f"the model was fitted with covariates {list(covariates)}: pass their future values "
            f"(unique_id, ds, {', '.join(covariates)}) for the {horizon} forecast steps"
        )
    missing = [c for c in ("unique_id", "ds", *covariates) if c not in future.columns]
    if missing:
        raise ForecastInputError(f"future covariates lack column(s) {missing}")
    given = future[["unique_id", "ds", *covariates]].assign(
        unique_id=future["unique_id"].astype(str), ds=_as_datetime(future["ds"])
    )
    if given.duplicated(["unique_id", "ds"]).any():
        raise ForecastInputError("future covariates have duplicate (unique_id, ds) rows")
    merged = steps.merge(given, on=["unique_id", "ds"], how="left", validate="one_to_one")
    gaps = merged[merged[list(covariates)].isna().any(axis=1)]
    if not gaps.empty:
        first = gaps.iloc[0]
        raise ForecastInputError(
            f"future covariates miss {len(gaps)} of {len(merged)} forecast step(s), "
            f"e.g. unique_id={first['unique_id']!r} ds={first['ds']}"
        )
    for column in covariates:
        merged[column] = numeric_values(merged[column], column)
    return merged


def future_dates(history: pd.DataFrame, horizon: int, freq: str) -> pd.DataFrame:
    """``unique_id, ds`` for the ``horizon`` steps after the last timestamp of each series."""
    offset = parse_frequency(freq)
    last = history.groupby("unique_id", sort=True)["ds"].max()
    frames = [
        pd.DataFrame({"unique_id": uid, "ds": pd.date_range(end, periods=horizon + 1, freq=offset)[1:]})
        for uid, end in last.items()
    ]
    return pd.concat(frames, ignore_index=True)
