"""The ``ds`` of a planner's file (``training.file_forecast``) read as timestamps, or refused saying which value.

Dates written with the day and the month as numbers (01/02/2024, 01.02.2024) are read by the rule every importer
shares (``common.date_formats``): day-first or month-first as the file's days above 12 tell, refused where none
does unless ``--date-format`` (a strptime format such as ``%d/%m/%Y``) says which, and refused where the file
writes them in more than one way (01/02/2024 and 01-03-24). Numbers are dates only as ISO 8601 writes them, a year
(2024) or a day (20240131), or as ``--date-format`` says: pandas read a whole number as nanoseconds after 1970, and
240101 as 24 January 2001. A ``--date-format`` of digits only (%m%d%Y) reads a shorter number as written with the
leading zeros it lost (1022024, which a spreadsheet keeps of 01022024, as 2 January), and refuses one still too short.

Rows are named by their place below the header, the first being data row 1 (a spreadsheet's row 2): a file's blank
rows count (``file_forecast`` labels its rows so); a frame without whole-number labels by its place among its rows.
"""

from __future__ import annotations

import math
import re
import warnings
from datetime import datetime
from numbers import Integral, Real
from typing import Any

import pandas as pd

from common.date_formats import detect_date_format, parse_date_format
from common.errors import InvalidInputError
from training.errors import ForecastInputError
from training.frequency import parse_frequency

# Local times without an offset suit dates only: within a day they repeat and skip an hour when the clocks change.
_ZONE_ADVICE = {
    True: "every timestamp with its UTC offset, or local dates without one",
    False: "every timestamp with its UTC offset, or all in UTC: local times without one repeat or skip an hour",
}
# A date of numbers that does not start with its year (01/02/2024, 1.2.24), then a time or nothing.
_NUMERIC_DATE = re.compile(r"\s*(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?=$|[T\s])(.*)", re.DOTALL)
_NUMBER = re.compile(r"\s*[+-]?(\d+)(\.\d*)?\s*", re.ASCII)
_WHOLE_DECIMAL = re.compile(r"\s*([+-]?\d+)\.0*\s*", re.ASCII)
# The only numbers read as dates without --date-format, by their count of digits: ISO 8601's year and basic day.
_DIGIT_DATES = {4: "%Y", 8: "%Y%m%d"}
NOT_DATES_ADVICE = "write dates as 2024-01-31, years as 2024 or days as 20240131, or give --date-format"


def read_timestamps(ds: pd.Series, freq: str, date_format: str | None, column: str = "column 'ds'") -> pd.Series:
    """``ds`` read as datetimes (with ``date_format`` when given); an unreadable value is refused, quoted.

    Timestamps whose UTC offset changes inside the file (a daylight-saving change) are read, for a frequency
    finer than a day, as instants in UTC: local hours repeat and skip one there, instants stay on the grid. For
    days and coarser each keeps its own wall-clock date, the day it was written on.
    """
    days = steps_in_days(freq)
    if not pd.api.types.is_datetime64_any_dtype(ds):
        ds = ds.map(_as_written)
    with warnings.catch_warnings():
        # Mixed offsets parse to objects with a FutureWarning (pandas 3 raises); they are converted below.
        warnings.simplefilter("ignore", FutureWarning)
        if date_format is not None and not pd.api.types.is_datetime64_any_dtype(ds):
            parsed = pd.to_datetime(_with_lost_zeros(ds, date_format), format=date_format, errors="coerce")
        else:
            written = _day_first_or_month_first(_digit_dates(ds, column), column)
            parsed = pd.to_datetime(written, errors="coerce")
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


def _with_lost_zeros(ds: pd.Series, date_format: str) -> pd.Series:
    """``ds`` as text, each value of fewer digits than ``date_format`` writes (when it writes digits only) padded with
    the leading zeros that a column of numbers drops: strptime would read 1022024 as %m%d%Y greedily, as 2 October."""
    written = datetime(2000, 1, 1).strftime(date_format)
    if not written.isdigit():
        return ds.astype(str)
    return ds.astype(str).map(lambda text: text.strip().zfill(len(written)) if text.strip().isdigit() else text)


def _as_written(value: object) -> object:
    """A number as its digits (20240131.0, a float column's or as a file writes it, as 20240131), so that a date
    format reads it as written and pandas never takes it for nanoseconds; any other value as it is."""
    if isinstance(value, str):
        whole = _WHOLE_DECIMAL.fullmatch(value)
        return whole.group(1) if whole else value
    if isinstance(value, bool) or not isinstance(value, Real):
        return value
    if isinstance(value, Integral):
        return str(int(value))
    number = float(value)
    if not math.isfinite(number):  # a blank cell of a column of numbers: refused as unreadable, as before
        return value
    return str(int(number)) if number.is_integer() else repr(number)


def _digit_dates(ds: pd.Series, column: str) -> pd.Series:
    """``ds`` with its years and yyyymmdd days (numbers or digits) as ISO dates, one that is no day as missing (to
    be refused as unreadable); refuses any other number, naming the first."""
    numbers = [(row, value) for row, value in _numbered(ds) if isinstance(value, str) and _NUMBER.fullmatch(value)]
    if not numbers:
        return ds
    for row, value in numbers:
        match = _NUMBER.fullmatch(value)
        if match is None or match.group(2) or value.strip()[0] in "+-" or len(match.group(1)) not in _DIGIT_DATES:
            raise ForecastInputError(
                f"{column} has numbers that are not dates, e.g. {value.strip()} (data row {row}): {NOT_DATES_ADVICE} "
                f"(a strptime format such as %Y%m%d)"
            )
    return ds.map(lambda value: _digit_date(value) if isinstance(value, str) and _NUMBER.fullmatch(value) else value)


def _digit_date(digits: str) -> str | None:
    try:
        return datetime.strptime(digits.strip(), _DIGIT_DATES[len(digits.strip())]).date().isoformat()
    except ValueError:
        return None


def _day_first_or_month_first(ds: pd.Series, column: str) -> pd.Series:
    """``ds`` with its dates of numbers (01/02/2024) rewritten as ISO dates, day-first or month-first as the file's
    days above 12 tell (pandas reads them month-first, whatever they say); one the detected format does not read
    becomes missing, to be refused as unreadable. Other values are left to pandas as written."""
    if pd.api.types.is_datetime64_any_dtype(ds):
        return ds
    matches = ds.map(lambda value: _NUMERIC_DATE.fullmatch(value) if isinstance(value, str) else None)
    _refuse_mixed_styles(matches, column)
    dates = [m for m in matches if m is not None]
    if not dates:
        return ds
    tokens = list(dict.fromkeys(m.group(1, 2, 3, 4) for m in dates))  # in the file's order: its first days tell
    _, sep, _, year = tokens[0]  # one separator and year width: _refuse_mixed_styles saw to it
    year_directive = "Y" if len(year) == 4 else "y"
    formats = [f"%d{sep}%m{sep}%{year_directive}", f"%m{sep}%d{sep}%{year_directive}"]
    written = [f"{day}{sep}{month}{sep}{year}" for day, sep, month, year in tokens]
    try:
        fmt = detect_date_format(written, formats, "--date-format")
    except InvalidInputError as exc:
        details = exc.details or {}
        if exc.code != "ambiguous_date_format":  # 31/31/2024: no day and month either way round
            raise ForecastInputError(
                f"{column} has dates such as {written[0]!r} that read neither day-first nor month-first: "
                f"give --date-format (a strptime format such as {formats[0]})"
            ) from exc
        readings = " and as ".join(details["formats"][:2])
        raise ForecastInputError(
            f"{column} has dates such as {details['ambiguous']!r} that read as {readings} alike (no day above 12 "
            f"tells the month): give --date-format, e.g. --date-format {formats[0]}"
        ) from exc
    return pd.Series(
        [value if m is None else _iso_date(m, fmt) for value, m in zip(ds, matches, strict=True)], index=ds.index
    )


def _refuse_mixed_styles(matches: pd.Series, column: str) -> None:
    """Refuses dates of numbers written with two separators or two year widths (01/02/2024, 01-03-24), naming the
    first of each of two ways and its row: no one format reads them, and their days cannot tell each other's order."""
    first_of_style: dict[tuple[str, int], tuple[int, str]] = {}
    for row, match in _numbered(matches):
        if match is not None:
            first_of_style.setdefault((match.group(2), len(match.group(4))), (row, match.group(0).strip()))
    if len(first_of_style) > 1:
        (row, value), (other_row, other) = sorted(first_of_style.values())[:2]
        raise ForecastInputError(
            f"{column} mixes date formats: {value!r} (data row {row}) and {other!r} (data row {other_row}) are "
            "written with different separators or year widths: write every date one way (2024-01-31 is read "
            "whatever the locale), or give --date-format to read one way and refuse the others"
        )


def _numbered(values: pd.Series) -> zip[tuple[int, Any]]:
    """Each value with its data row: its whole-number label plus one, else its place from 1."""
    if pd.api.types.is_integer_dtype(values.index):
        return zip((int(label) + 1 for label in values.index), values, strict=True)
    return zip(range(1, len(values) + 1), values, strict=True)


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


def steps_in_days(freq: str) -> bool:
    """Whether ``freq`` steps by whole days or calendar periods (D, B, W, MS, QS, YS), not by hours or minutes."""
    offset = parse_frequency(freq)
    if isinstance(offset, pd.offsets.BusinessHour | pd.offsets.CustomBusinessHour):
        return False
    if isinstance(offset, pd.offsets.Tick):
        return pd.Timedelta(offset) % pd.Timedelta(days=1) == pd.Timedelta(0)
    return True
