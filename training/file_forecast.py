"""Forecast a planner's own file: ``chainsight forecast --input history.csv --horizon H --freq W``.

The file is a long table ``unique_id, ds, y`` (CSV or Parquet) at any pandas frequency from hourly
to yearly. Series are forecast on Ray with the same model selection as the service and the batch
job (``training.planning``), partitioned over tasks; the output has ``unique_id, ds, yhat``, one
``q<level>`` column per quantile and the ``model`` chosen for each series.

Missing timestamps inside a series are filled according to ``fill`` (``zero``: demand not recorded
is no demand, the default; ``ffill``: carry the last value, for levels such as prices; ``none``:
refuse the file and name the first gap).

Dates written with the day and the month as numbers (01/02/2024, 01.02.2024) are read by the rule every importer
shares (``common.date_formats``): day-first or month-first as the file's days above 12 tell, refused where none
does unless ``date_format`` (the CLI's ``--date-format``, a strptime format such as ``%d/%m/%Y``) says which.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import pandas as pd

from common.date_formats import detect_date_format, parse_date_format
from common.errors import InvalidInputError
from training.distributed import forecast_on_ray
from training.errors import ForecastInputError
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
# Local times without an offset suit dates only: within a day they repeat and skip an hour when the clocks change.
_ZONE_ADVICE = {
    True: "every timestamp with its UTC offset, or local dates without one",
    False: "every timestamp with its UTC offset, or all in UTC: local times without one repeat or skip an hour",
}
# A date of numbers that does not start with its year (01/02/2024, 1.2.24), then a time or nothing.
_NUMERIC_DATE = re.compile(r"\s*(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?=$|[T\s])(.*)", re.DOTALL)


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
            # Ids as written: pandas would read 001 and 1 as one number, an empty id and "NA" as one "nan".
            frame = pd.read_csv(path, dtype={"unique_id": str}, keep_default_na=False, na_values={"y": [""]})
        else:
            raise ForecastInputError(f"{path.name}: give a .csv or .parquet file")
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise ForecastInputError(f"{path.name} cannot be read: {exc}") from exc
    columns = [*(REQUIRED_COLUMNS if target else ("unique_id", "ds")), *covariates]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ForecastInputError(f"{path.name} lacks column(s) {missing}; expected {columns}")
    return frame[columns]


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
        unique_id=ids.astype(str), ds=_timestamps(frame["ds"], freq, date_format), y=numeric_values(frame["y"])
    )
    covariates = covariate_columns(frame)
    if fill == "none":
        return validate_history(frame, freq, covariates=covariates), 0
    filled = fill_gaps(frame, freq, value=0.0 if fill == "zero" else float("nan"))
    if fill == "ffill":
        filled["y"] = filled.groupby("unique_id")["y"].ffill()
    added = len(filled) - len(frame.drop_duplicates(["unique_id", "ds"]))
    return validate_history(filled, freq, covariates=covariates), added


def _timestamps(ds: pd.Series, freq: str, date_format: str | None, column: str = "column 'ds'") -> pd.Series:
    """``ds`` read as datetimes (with ``date_format`` when given); an unreadable value is refused, quoted.

    Timestamps whose UTC offset changes inside the file (a daylight-saving change) are read, for a frequency
    finer than a day, as instants in UTC: local hours repeat and skip one there, instants stay on the grid. For
    days and coarser each keeps its own wall-clock date, the day it was written on.
    """
    if pd.api.types.is_integer_dtype(ds):  # years (2021) or 20240101 as written, not nanoseconds after 1970
        ds = ds.astype(str)
    days = _steps_in_days(freq)
    with warnings.catch_warnings():
        # Mixed offsets parse to objects with a FutureWarning (pandas 3 raises); they are converted below.
        warnings.simplefilter("ignore", FutureWarning)
        if date_format is not None and not pd.api.types.is_datetime64_any_dtype(ds):
            parsed = pd.to_datetime(ds.astype(str), format=date_format, errors="coerce")
        else:
            parsed = pd.to_datetime(_day_first_or_month_first(ds, column), errors="coerce")
    if not pd.api.types.is_datetime64_any_dtype(parsed):  # timestamps with offsets that differ
        if days:
            parsed = pd.to_datetime(parsed.map(lambda t: t.replace(tzinfo=None) if isinstance(t, datetime) else t))
        else:
            parsed = pd.to_datetime(parsed, utc=True)
    unreadable = parsed.isna()
    if unreadable.any():
        example = ds[unreadable].iloc[0]
        advice = f"--date-format {date_format}" if date_format else f"dates between 1677 and 2262; {_ZONE_ADVICE[days]}"
        raise ForecastInputError(
            f"{column} has {int(unreadable.sum())} unreadable timestamp(s), e.g. {example!r} ({advice})"
        )
    return parsed


def _day_first_or_month_first(ds: pd.Series, column: str) -> pd.Series:
    """``ds`` with its dates of numbers (01/02/2024) rewritten as ISO dates, day-first or month-first as the file's
    days above 12 tell (pandas reads them month-first, whatever they say); one the detected format does not read
    becomes missing, to be refused as unreadable. Other values are left to pandas as written."""
    if pd.api.types.is_datetime64_any_dtype(ds):
        return ds
    matches = ds.map(lambda value: _NUMERIC_DATE.fullmatch(value) if isinstance(value, str) else None)
    dates = [m for m in matches if m is not None]
    if not dates:
        return ds
    tokens = list(dict.fromkeys(m.group(1, 2, 3, 4) for m in dates))  # in the file's order: its first days tell
    formats = dict.fromkeys(  # day-first and month-first for each separator and year width written
        f"%{first}{sep}%{second}{sep}%{'Y' if len(year) == 4 else 'y'}"
        for _, sep, _, year in tokens
        for first, second in (("d", "m"), ("m", "d"))
    )
    written = [f"{day}{sep}{month}{sep}{year}" for day, sep, month, year in tokens]
    try:
        fmt = detect_date_format(written, list(formats), "--date-format")
    except InvalidInputError as exc:
        details = exc.details or {}
        if exc.code != "ambiguous_date_format":  # 31/31/2024: no day and month either way round
            raise ForecastInputError(
                f"{column} has dates such as {written[0]!r} that read neither day-first nor month-first: "
                f"give --date-format (a strptime format such as {next(iter(formats))})"
            ) from exc
        readings = " and as ".join(details["formats"][:2])
        raise ForecastInputError(
            f"{column} has dates such as {details['ambiguous']!r} that read as {readings} alike (no day above 12 "
            f"tells the month): give --date-format, e.g. --date-format {next(iter(formats))}"
        ) from exc
    return pd.Series(
        [value if m is None else _iso_date(m, fmt) for value, m in zip(ds, matches, strict=True)], index=ds.index
    )


def _iso_date(match: re.Match[str], fmt: str) -> str | None:
    try:
        day = datetime.strptime("".join(match.group(1, 2, 3, 2, 4)), fmt).date()
    except ValueError:
        return None
    return day.isoformat() + match.group(5)


def date_format_option(text: str | None) -> str | None:
    """``--date-format`` checked: a strptime format that reads back a date it writes, or None."""
    try:
        return parse_date_format(text, "--date-format")
    except InvalidInputError as exc:
        raise ForecastInputError(exc.message) from exc


def _steps_in_days(freq: str) -> bool:
    """Whether ``freq`` steps by whole days or calendar periods (D, B, W, MS, QS, YS), not by hours or minutes."""
    offset = parse_frequency(freq)
    if isinstance(offset, pd.offsets.BusinessHour | pd.offsets.CustomBusinessHour):
        return False
    if isinstance(offset, pd.offsets.Tick):
        return pd.Timedelta(offset) % pd.Timedelta(days=1) == pd.Timedelta(0)
    return True


def _future_timestamps(future: pd.DataFrame, history_ds: pd.Series, freq: str, date_format: str | None) -> pd.DataFrame:
    """``future`` with its ``ds`` read as the history's was and on its clock, so that the forecast steps match."""
    ds = _timestamps(future["ds"], freq, date_format, "the future's column 'ds'")
    zone = history_ds.dt.tz
    if _steps_in_days(freq):  # a date is the day it was written on, whatever the offset beside it
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
    the ``ds`` of both; without it dates are read as ``_day_first_or_month_first`` tells.
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
