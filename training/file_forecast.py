"""Forecast a planner's own file: ``chainsight forecast --input history.csv --horizon H --freq W``.

The file is a long table ``unique_id, ds, y`` (CSV or Parquet) at any pandas frequency from hourly
to yearly. Series are forecast on Ray with the same model selection as the service and the batch
job (``training.planning``), partitioned over tasks; the output has ``unique_id, ds, yhat``, one
``q<level>`` column per quantile and the ``model`` chosen for each series.

Missing timestamps inside a series are filled according to ``fill`` (``zero``: demand not recorded
is no demand, the default; ``ffill``: carry the last value, for levels such as prices; ``none``:
refuse the file and name the first gap).

The ``ds`` column is read by ``training.file_dates``: day-first or month-first dates as the file's days above 12
tell, numbers only as years and yyyymmdd days, otherwise as ``date_format`` (the CLI's ``--date-format``) says.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from training.distributed import forecast_on_ray
from training.errors import ForecastInputError
from training.file_dates import date_format_option, read_timestamps, steps_in_days
from training.frequency import parse_frequency, seasonalities
from training.planning import Profile
from training.validation import (
    REQUIRED_COLUMNS,
    covariate_columns,
    fill_gaps,
    future_dates,
    numeric_values,
    quantile_column,
    validate_future,
    validate_history,
    validate_horizon,
    validate_quantiles,
)

Fill = Literal["zero", "ffill", "none"]


@dataclass(frozen=True)
class FileForecast:
    forecast: pd.DataFrame
    selection: pd.DataFrame
    filled_gaps: int


def read_history(path: Path, covariates: Sequence[str] = (), *, target: bool = True) -> pd.DataFrame:
    """``unique_id, ds, y`` and the named ``covariates`` of a CSV or Parquet file (other columns
    are ignored). With ``target=False`` (a file of future covariate values) ``y`` is not read."""
    if not path.exists():
        raise ForecastInputError(f"no such file: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix in {".parquet", ".pq"}:
            frame = pd.read_parquet(path)
        elif suffix in {".csv", ".txt"}:
            frame = _read_csv(path)
        else:
            raise ForecastInputError(f"{path.name}: give a .csv or .parquet file")
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise ForecastInputError(f"{path.name} cannot be read: {exc}") from exc
    columns = [*(REQUIRED_COLUMNS if target else ("unique_id", "ds")), *covariates]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ForecastInputError(f"{path.name} lacks column(s) {missing}; expected {columns}")
    return frame[columns]


def _read_csv(path: Path) -> pd.DataFrame:
    """The rows of a CSV file, each labelled by its place below the header counting blank rows (from 0), as
    ``file_dates`` names them; a row without a value in any cell (a blank line, or ",," from a spreadsheet) is none."""
    # Ids as written: pandas would read 001 and 1 as one number, an empty id and "NA" as one "nan". Dates as written:
    # 01022024 read as a number is 1022024, which %m%d%Y reads as 2 October.
    frame = pd.read_csv(
        path,
        dtype={"unique_id": str, "ds": str},
        keep_default_na=False,
        na_values={"y": [""]},
        skip_blank_lines=False,
    )
    # Only a row without an id can be blank: stripping every cell of a million rows took 1.9 s, these rows 0.2 s.
    ids = frame["unique_id"] if "unique_id" in frame else pd.Series(pd.NA, index=frame.index)
    unnamed = frame[ids.isna() | ids.astype(str).str.strip().eq("")]
    cells = unnamed.astype(str).apply(lambda column: column.str.strip())
    blank = unnamed.index[(cells.eq("") | unnamed.isna()).all(axis=1)]
    return frame.drop(index=blank)


def prepare(
    frame: pd.DataFrame, freq: str, fill: Fill = "zero", date_format: str | None = None
) -> tuple[pd.DataFrame, int]:
    """A regular-grid history and the number of timestamps that were filled."""
    parse_frequency(freq)
    if frame.empty:
        raise ForecastInputError("history is empty")
    ids = frame["unique_id"]
    empty = ids.isna() | (ids.astype(str).str.strip() == "")
    if empty.any():
        raise ForecastInputError(f"column 'unique_id' is empty in {int(empty.sum())} row(s)")
    # Checked before any fill: a missing y is a mistake in the file, not a gap to fill with 0 or the last value.
    frame = frame.assign(
        unique_id=ids.astype(str), ds=read_timestamps(frame["ds"], freq, date_format), y=numeric_values(frame["y"])
    )
    covariates = covariate_columns(frame)
    if fill == "none":
        return validate_history(frame, freq, covariates=covariates), 0
    filled = fill_gaps(frame, freq, value=0.0 if fill == "zero" else float("nan"))
    if fill == "ffill":
        filled["y"] = filled.groupby("unique_id")["y"].ffill()
    added = len(filled) - len(frame.drop_duplicates(["unique_id", "ds"]))
    return validate_history(filled, freq, covariates=covariates), added


def _future_timestamps(future: pd.DataFrame, history_ds: pd.Series, freq: str, date_format: str | None) -> pd.DataFrame:
    """``future`` with its ``ds`` read as the history's was and on its clock, so that the forecast steps match."""
    ds = read_timestamps(future["ds"], freq, date_format, "the future's column 'ds'")
    zone = history_ds.dt.tz
    if steps_in_days(freq):  # a date is the day it was written on, whatever the offset beside it
        if ds.dt.tz is not None:
            ds = ds.dt.tz_localize(None)
        if zone is not None:
            ds = ds.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")  # no such midnight: a missed step
    elif (ds.dt.tz is None) != (zone is None):
        which = "no UTC offset where the history's do" if ds.dt.tz is None else "a UTC offset where the history's don't"
        raise ForecastInputError(f"the future's timestamps carry {which}: give both with their offsets, or both in UTC")
    return future.assign(ds=ds)


@dataclass(frozen=True)
class PreparedFile:
    """A planner's files, checked: the history on its grid, the future covariates, the request's figures."""

    history: pd.DataFrame
    freq: str
    horizon: int
    quantiles: list[float]
    future: pd.DataFrame | None
    filled_gaps: int


def prepare_file(
    frame: pd.DataFrame,
    freq: str,
    horizon: int,
    quantiles: Sequence[float],
    *,
    fill: Fill = "zero",
    future: pd.DataFrame | None = None,
    date_format: str | None = None,
) -> PreparedFile:
    """Check everything the files and options can get wrong, before any Ray work starts.

    Columns of ``frame`` beyond ``unique_id, ds, y`` are covariates; ``future`` then gives their
    values over the horizon (a future that misses a step is refused here). ``date_format`` (strptime) reads
    the ``ds`` of both; without it dates are read as ``training.file_dates`` tells.
    """
    seasonalities(freq)  # every model on Ray asks for the season: a frequency without one is refused here
    levels = validate_quantiles(quantiles)
    steps = validate_horizon(horizon)
    date_format = date_format_option(date_format)
    history, added = prepare(frame, freq, fill, date_format)
    covariates = covariate_columns(history)
    try:
        future_dates(history, steps, freq)
    except (OverflowError, pd.errors.OutOfBoundsDatetime) as exc:  # before Ray, not a traceback after it
        raise ForecastInputError(
            f"the horizon reaches past 2262-04-11, the last date forecasts can hold: {exc}"
        ) from exc
    if future is not None and "ds" in future.columns:
        future = _future_timestamps(future, history["ds"], freq, date_format)
    if covariates or future is not None:
        future = validate_future(future, history, steps, freq, covariates)
    return PreparedFile(history, freq, steps, levels, future, added)


def forecast_file(
    prepared: PreparedFile,
    *,
    profile: Profile = "full",
    chunks: int | None = None,
    on_progress: Callable[[int, int, int, int], None] | None = None,
) -> FileForecast:
    """Forecast every series of a prepared file on Ray (which must be initialised)."""
    history, freq, horizon, quantiles = prepared.history, prepared.freq, prepared.horizon, prepared.quantiles
    future, added = prepared.future, prepared.filled_gaps
    forecasts, selections = [], []
    for chunk in forecast_on_ray(
        history, freq, horizon, quantiles, profile=profile, chunks=chunks, on_progress=on_progress, future=future
    ):
        forecasts.append(chunk.forecast)
        selections.append(chunk.selection)
    columns = ["unique_id", "ds", "yhat", *(quantile_column(q) for q in sorted(quantiles)), "model"]
    forecast = pd.concat(forecasts, ignore_index=True)[columns].sort_values(["unique_id", "ds"], ignore_index=True)
    selection = pd.concat(selections, ignore_index=True).sort_values("unique_id", ignore_index=True)
    return FileForecast(forecast, selection, added)


def check_output(path: Path) -> None:
    """Refuse an output the forecast could not be written to, before any model work is spent on it."""
    if path.suffix.lower() not in {".csv", ".parquet", ".pq"}:
        raise ForecastInputError(f"--output {path.name}: give a .csv or .parquet file")
    if not path.parent.is_dir():
        raise ForecastInputError(f"--output {path}: directory {path.parent} does not exist")


def write_output(forecast: pd.DataFrame, path: Path) -> None:
    if path.suffix.lower() in {".parquet", ".pq"}:
        forecast.to_parquet(path, index=False)
    else:
        forecast.to_csv(path, index=False)
