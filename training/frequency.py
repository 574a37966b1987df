"""Seasonal periods and default horizons for pandas frequencies, from sub-hourly to yearly."""

from __future__ import annotations

import pandas as pd
from pandas.tseries.offsets import BaseOffset, Tick

from training.errors import ForecastInputError

_SECONDS_PER = {"day": 86_400, "week": 7 * 86_400}
# Typical business horizons, taken from the M4 competition where it defines one.
_HORIZON_BY_SEASON = {24: 48, 168: 48, 7: 14, 5: 10, 52: 13, 12: 18, 4: 8, 1: 6}
# The nightly batch's horizon per ledger frequency when none is given: 28 days and 13 weeks. The batch job,
# `chainsight forecast-batch` and the train job read it: a run is keyed by its horizon and a champion compared with
# runs of as many steps, so until 2026-12-07 a weekly batch without --horizon forecast 28 weeks under another key
# than the documented 13-week one. /ai/forecast/demand and the forecast PDF default to it too, so a request without
# a horizon is served from the stored forecast (until 2026-12-07 a weekly one asked 28 weeks and was refitted).
BATCH_HORIZON = {"D": 28, "W": 13}
# The longest horizon each ledger frequency accepts: about a year ahead.
MAX_HORIZON = {"D": 366, "W": 104}


def parse_frequency(freq: str) -> BaseOffset:
    """The pandas offset for ``freq``; raises ForecastInputError when pandas does not know it, it does not
    step forward (``0D`` divides by zero on a date range, ``-1D`` runs backwards) or it steps below a second."""
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except (ValueError, TypeError) as exc:
        raise ForecastInputError(f"unknown frequency {freq!r}: use a pandas alias such as 'h', 'D', 'W', 'MS'") from exc
    if offset.n <= 0:
        raise ForecastInputError(f"frequency must be a positive multiple of its unit ('1D', '2h', 'W'), got {freq!r}")
    # The seasonal periods count whole seconds: a step below one ('ns', '500ms') divided by zero until 2026-12-07.
    if isinstance(offset, Tick) and pd.Timedelta(offset) < pd.Timedelta(seconds=1):
        raise ForecastInputError(f"frequency must step at least one second ('s', '15min', 'h'), got {freq!r}")
    return offset


def seasonalities(freq: str) -> list[int]:
    """Seasonal periods (in steps) worth modelling for ``freq``, main period first.

    Hourly data has a daily and a weekly cycle, daily data a weekly and a yearly one, weekly
    data a yearly one (52 weeks), monthly 12, quarterly 4; yearly data has none (period 1).
    """
    offset = parse_frequency(freq)
    n = offset.n
    name = type(offset).__name__
    if name in {"BusinessDay", "CustomBusinessDay"}:
        return _divide([5, 260], n)
    if name in {"Week"}:
        return _divide([52], n)
    if name in {"MonthBegin", "MonthEnd", "BusinessMonthBegin", "BusinessMonthEnd"}:
        return _divide([12], n)
    if name in {"SemiMonthBegin", "SemiMonthEnd"}:
        return _divide([24], n)
    if name in {"QuarterBegin", "QuarterEnd", "BQuarterBegin", "BQuarterEnd"}:
        return _divide([4], n)
    if name in {"YearBegin", "YearEnd", "BYearBegin", "BYearEnd"}:
        return [1]
    try:
        step = pd.Timedelta(offset).total_seconds()
    except ValueError as exc:
        raise ForecastInputError(f"frequency {freq!r} has no known seasonal period") from exc
    if step < _SECONDS_PER["day"]:
        periods = [round(_SECONDS_PER["day"] / step), round(_SECONDS_PER["week"] / step)]
    elif step < _SECONDS_PER["week"]:
        periods = [round(_SECONDS_PER["week"] / step), round(365 * _SECONDS_PER["day"] / step)]
    else:
        periods = [round(365 * _SECONDS_PER["day"] / step)]
    return [p for p in periods if p > 1] or [1]


def season_length(freq: str) -> int:
    """The main seasonal period of ``freq`` in steps (1 when the data has no seasonality)."""
    return seasonalities(freq)[0]


def default_horizon(freq: str) -> int:
    """A sensible forecast horizon for ``freq`` when the caller gives none (M4's where defined)."""
    period = season_length(freq)
    return _HORIZON_BY_SEASON.get(period, max(period, 6))


def _divide(periods: list[int], n: int) -> list[int]:
    kept = [p // n for p in periods if p % n == 0 and p // n > 1]
    return kept or [1]
