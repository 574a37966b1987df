"""Seasonal analysis of one demand series: detected periods, strength of season and trend, STL, peaks.

Strengths follow Wang, Smith and Hyndman (2006), as in Hyndman and Athanasopoulos, *Forecasting:
Principles and Practice* (3rd ed., section 4.3): with an STL decomposition ``y = T + S + R``,
seasonal strength is ``max(0, 1 - Var(R) / Var(S + R))`` and trend strength
``max(0, 1 - Var(R) / Var(T + R))``; above about 0.6 a component is clearly present.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np
import pandas as pd
from statsmodels.tsa.seasonal import MSTL, STL
from statsmodels.tsa.stattools import acf

from training.errors import ForecastInputError
from training.frequency import parse_frequency, seasonalities

# Periods must be seen at least twice to be estimated at all.
MIN_CYCLES = 2
# A long cycle's ACF peak is broad and noise decides its top lag (364 = 52 x 7 beats 365 under a weekday pattern):
# its peak is looked for within this share of the period either side (18 lags for 365, 2 for 52, none for 7).
PEAK_TOLERANCE = 0.05
# A robust STL over few cycles puts noise into the season (white noise of two weekly cycles measures a seasonal
# strength near 1, of four up to 0.7): without a detected period, strengths are measured on this many cycles.
MIN_CYCLES_UNDETECTED = 8
# Where more than half the observations are one value (mostly zero demand) the white-noise band does not hold: an
# ACF peak there is carried by the few other observations a lag apart (two sales 50 weeks apart read 0.5 at lag 50,
# over a band of 0.25). A period is then detected only where this many of them recur at the peak's lag, one a period
# before or after another: the backing the strengths ask of such a series (sales in 4 weeks of each of 3 years: 12).
# For a yearly period (52 weeks, 365 days) the calendar moves a recurrence by a lag: a sale in
# the same ISO week comes back 52 or 53 weeks later, on the same date 365 or 366 days later; within RECURRING_SLACK
# lags of the peak's it counts.
MIN_RECURRING = 8
RECURRING_SLACK = 1
CALENDAR_DRIFTING = frozenset({52, 365})  # a year in weeks or days; a day (24 h) and a week (7 d, 168 h) never drift
# A Monday at midnight: where steps on the calendar are counted from.
_ANCHOR = pd.Timestamp("1970-01-05")


@dataclass(frozen=True)
class SeasonalAnalysis:
    """What ``analyse_seasonality`` found. Components are empty when the series is too short."""

    observations: int
    candidate_periods: list[int]
    detected_periods: list[int]
    autocorrelation: dict[int, float]
    decomposed_period: int | None
    seasonal_strength: float | None
    trend_strength: float | None
    components: pd.DataFrame  # ds, observed, trend, seasonal, resid
    # Calendar position in the main cycle -> mean seasonal effect of that cycle (see ``_cycle_positions``):
    # weekday 0 = Monday ... 6 = Sunday for a weekly cycle of daily data; a yearly cycle by ISO week 1-53 (weekly
    # data) or day of the year 1-366 (daily data).
    seasonal_profile: dict[int, float]
    peak_weeks: list[int]  # ISO weeks of the year, highest yearly effect first; [] without a detected yearly cycle
    notes: list[str] = field(default_factory=list)


def analyse_seasonality(
    history: pd.DataFrame, freq: str, *, extra_periods: tuple[int, ...] = (), top_weeks: int = 5
) -> SeasonalAnalysis:
    """Analyse one series ``ds, y`` on a regular ``freq`` grid (gaps filled beforehand).

    Candidate periods are those the frequency suggests (``training.frequency.seasonalities``) plus
    ``extra_periods``, kept when the series spans at least two cycles. A period is *detected* when
    the autocorrelation of the detrended series peaks near it above the white-noise band (see
    ``detect_periods``). STL (robust) runs on the detected period with the highest peak, MSTL when several are
    detected; without a detected period the decomposition still runs on the main candidate so the strengths
    say how weak the season is. Peak weeks rank ISO weeks by the mean of the yearly component (period 365 of daily,
    52 of weekly data) and only when that period is detected: any other component averages to about
    zero over a week, and an undetected one is not told from noise, so ranking them ranks noise. The
    seasonal profile keys the main cycle by calendar position, the same for every series and window.
    """
    if history.empty or not {"ds", "y"} <= set(history.columns):
        raise ForecastInputError("seasonal analysis needs a non-empty frame with columns ds and y")
    parse_frequency(freq)
    frame = history.sort_values("ds")
    y = frame["y"].to_numpy(dtype=float)
    ds = pd.DatetimeIndex(pd.to_datetime(frame["ds"]))
    n = len(y)
    notes: list[str] = []
    candidates = sorted({p for p in (*seasonalities(freq), *extra_periods) if p > 1})
    usable = [p for p in candidates if n >= MIN_CYCLES * p + 1]
    for p in candidates:
        if p not in usable:
            notes.append(f"period {p} not assessed: {n} observations, needs {MIN_CYCLES * p + 1}")
    empty = pd.DataFrame(columns=["ds", "observed", "trend", "seasonal", "resid"])
    if np.all(y == y[0]):
        notes.append("constant series (e.g. no demand at all): no season or trend to find")
        return SeasonalAnalysis(n, candidates, [], {}, None, 0.0, 0.0, empty, {}, [], notes)
    correlations = _autocorrelations(y, usable)
    peaks = detect_periods(y, usable)
    detected = sorted(peaks, key=lambda p: peaks[p], reverse=True)
    main = detected[0] if detected else (usable[0] if usable else None)
    if main is None:
        notes.append("too short for any seasonal period: no decomposition")
        return SeasonalAnalysis(n, candidates, [], correlations, None, None, None, empty, {}, [], notes)
    values, counts = np.unique(y, return_counts=True)
    # More than half the observations one value (mostly zero demand): a robust STL fits those exactly, weighs every
    # other one out as an outlier and reads a lone sale as season and trend of strength 1. The decomposition is not
    # robust then, and its strengths are reported only for a detected period that at least MIN_CYCLES_UNDETECTED
    # other observations back (sales on Mondays only read 0.97): a plain STL reads sparse noise at up to 0.7, and
    # two sales 7 days apart, were they detected as a week (MIN_RECURRING now stops that), would read 0.66.
    lumped = counts.max() > n / 2
    backed = not lumped or n - counts.max() >= MIN_CYCLES_UNDETECTED
    measured = backed and (bool(detected) or (not lumped and n >= MIN_CYCLES_UNDETECTED * main))
    if lumped and not measured:
        value = values[counts.argmax()]
        notes.append(
            f"mostly {'zero demand' if value == 0 else f'one value ({value:g})'} ({counts.max()} of {n} "
            "observations): strengths not measured"
        )
    if not detected:
        notes.append(
            f"no significant seasonality; decomposed on period {main} to measure its strength"
            if measured
            else "no significant seasonality"
            if lumped
            else f"no significant seasonality; strengths not measured: {n} observations, an undetected period "
            f"needs {MIN_CYCLES_UNDETECTED * main} ({MIN_CYCLES_UNDETECTED} cycles) to tell a season from noise"
        )
    series = pd.Series(y, index=pd.RangeIndex(n))
    periods = sorted(detected) if len(detected) > 1 else [main]
    if len(periods) > 1:
        result = MSTL(series, periods=periods, stl_kwargs={"robust": not lumped}).fit()
    else:
        result = STL(series, period=main, robust=not lumped).fit()
    by_period = np.asarray(result.seasonal).reshape(n, -1)  # one column per period, in the order of periods
    seasonal = by_period.sum(axis=1)
    yearly = _yearly_period(freq)
    trend, resid = np.asarray(result.trend), np.asarray(result.resid)
    components = pd.DataFrame({"ds": ds, "observed": y, "trend": trend, "seasonal": seasonal, "resid": resid})
    main_effect = by_period[:, periods.index(main)]
    profile = pd.Series(main_effect).groupby(_cycle_positions(ds, freq, main, yearly)).mean()
    return SeasonalAnalysis(
        observations=n,
        candidate_periods=candidates,
        detected_periods=detected,
        autocorrelation=correlations,
        decomposed_period=main,
        seasonal_strength=_strength(resid, seasonal + resid) if measured else None,
        trend_strength=_strength(resid, trend + resid) if measured else None,
        components=components,
        seasonal_profile={int(k): float(v) for k, v in profile.items()},
        peak_weeks=_peak_weeks(ds, by_period, periods, detected, yearly, float(np.mean(y)), top_weeks, notes),
        notes=notes,
    )


def _autocorrelations(y: np.ndarray, periods: list[int]) -> dict[int, float]:
    if not periods:
        return {}
    values = acf(y, nlags=max(periods), fft=True)
    return {p: float(values[p]) for p in periods}


def detect_periods(y: np.ndarray, periods: list[int]) -> dict[int, float]:
    """Detected period -> height of its autocorrelation peak, shortest periods tested first.

    For each period the series is detrended by the trend of an STL fitted at that period: its trend window
    exceeds the period, so it takes out the trend (which otherwise dominates a long lag's ACF) but not the cycle
    under test, and it keeps every observation. Differencing would whiten the series and drown a slow yearly
    cycle in noise; a centred moving average of the period loses half a cycle at either end, all but one cycle
    of a two-year history. Shorter cycles already detected are removed too (their mean per position), so a
    weekday pattern's peak at 364 = 52 x 7 is not taken for a year. The period is detected when the ACF has a
    local peak within ``PEAK_TOLERANCE`` of it above the 95% white-noise band, widened (Bonferroni) for the
    number of lags looked at so that a wide window lets noise through no more often than one lag does (the band
    stays 1.96/sqrt(n) for a period of one lag, such as 7 days). Where more than half the observations are one
    value, the peak's lag (give or take ``RECURRING_SLACK`` where the peak may wander) must also separate
    ``MIN_RECURRING`` of the other observations from another one: one coincidence of two sales is no cycle.
    """
    n = len(y)
    distinct, counts = np.unique(y, return_counts=True)
    # On mostly one value, the observations that are not it (the sales among zeros) must recur at the lag.
    events = y != distinct[counts.argmax()] if counts.max() > n / 2 else None
    peaks: dict[int, float] = {}
    for period in sorted(periods):
        tolerance = int(PEAK_TOLERANCE * period)
        remainder = y - np.asarray(STL(y, period=period).fit().trend)
        for shorter in peaks:
            position = np.arange(n) % shorter
            remainder = remainder - (np.bincount(position, remainder) / np.bincount(position))[position]
        values = acf(remainder, nlags=period + tolerance + 1, fft=True)
        band = NormalDist().inv_cdf(1 - 0.025 / (2 * tolerance + 1)) / np.sqrt(n)
        heights = [
            float(values[lag])
            for lag in range(period - tolerance, period + tolerance + 1)
            if values[lag] > band
            and values[lag] >= values[lag - 1]
            and values[lag] >= values[lag + 1]
            and (events is None or _recurring(events, lag, _slack(period)) >= MIN_RECURRING)
        ]
        if heights:
            peaks[period] = max(heights)
    return peaks


def _recurring(events: np.ndarray, lag: int, slack: int) -> int:
    """How many of the ``events`` have another one ``lag`` steps (give or take ``slack``) before or after them."""
    recurring = np.zeros(len(events), dtype=bool)
    for apart in range(max(1, lag - slack), min(lag + slack, len(events) - 1) + 1):
        pairs = events[apart:] & events[:-apart]
        recurring[apart:] |= pairs
        recurring[:-apart] |= pairs
    return int(recurring.sum())


def _strength(resid: np.ndarray, component_plus_resid: np.ndarray) -> float:
    total = float(np.var(component_plus_resid))
    if total <= 0:
        return 0.0
    return float(max(0.0, 1.0 - np.var(resid) / total))


def _yearly_period(freq: str) -> int | None:
    """The candidate period of ``freq`` that spans a year, where steps of a day to a week place it in ISO weeks."""
    offset = parse_frequency(freq)
    first = _ANCHOR + offset  # an anchored offset (weekly on Sunday, business days) rolls onto its grid first
    if not pd.Timedelta(days=1) <= (first + offset) - first <= pd.Timedelta(weeks=1):
        return None
    spans = {p: (first + p * offset) - first for p in seasonalities(freq)}
    return next((p for p, span in spans.items() if pd.Timedelta(days=360) <= span <= pd.Timedelta(days=371)), None)


def _cycle_positions(ds: pd.DatetimeIndex, freq: str, period: int, yearly: int | None) -> np.ndarray:
    """Where each date falls in a cycle of ``period`` steps, counted on the calendar, not from the first observation.

    A yearly cycle is keyed by ISO week (1-53) with weekly steps, by day of the year (1-366) with shorter ones;
    any other cycle by the steps since Monday 1970-01-05 (months: since January 1970) modulo the period: weekday
    0 = Monday ... 6 = Sunday for 7 days, the hour of the day for 24 hours, of the week from Monday 0:00 for 168.
    """
    local = ds.tz_localize(None) if ds.tz is not None else ds
    offset = parse_frequency(freq)
    step = (_ANCHOR + 2 * offset) - (_ANCHOR + offset)
    if period == yearly:
        by_week = step >= pd.Timedelta(weeks=1)
        return (local.isocalendar().week if by_week else local.dayofyear).to_numpy(dtype=int)
    if isinstance(offset, pd.offsets.Tick):
        return np.asarray((local - _ANCHOR) // step, dtype=int) % period
    # Calendar offsets (business days, weeks, months) step unevenly: count them on their own grid.
    start = _ANCHOR if step <= pd.Timedelta(weeks=1) else pd.Timestamp("1970-01-01")
    grid = pd.date_range(start, max(local.max(), start), freq=offset)
    return np.asarray(grid.searchsorted(local), dtype=int) % period


def _peak_weeks(
    ds: pd.DatetimeIndex,
    by_period: np.ndarray,
    periods: list[int],
    detected: list[int],
    yearly: int | None,
    mean: float,
    top: int,
    notes: list[str],
) -> list[int]:
    """ISO weeks with the highest mean effect of the detected yearly component (STL: free of trend and noise)."""
    if yearly is None:
        notes.append("peak weeks need a yearly cycle of daily or weekly data")
        return []
    if yearly not in detected or yearly not in periods:
        needed = MIN_CYCLES * yearly + 1
        notes.append(
            f"peak weeks need a detected yearly cycle (period {yearly}: {MIN_CYCLES} years of history, "
            f"{needed} observations; {len(ds)} here)"
            if len(ds) < needed
            else f"peak weeks need a detected yearly cycle: period {yearly} was not detected"
        )
        return []
    if mean <= 0:
        return []
    component = by_period[:, periods.index(yearly)]
    weeks = pd.Series(component, index=ds.isocalendar().week.to_numpy()).groupby(level=0).mean()
    return [int(w) for w in weeks.sort_values(ascending=False).head(top).index]


def _slack(period: int) -> int:
    """How far a recurrence may stand from the period's lag: a step for a yearly period, whose calendar positions drift
    (52 or 53 weeks, 365 or 366 days); none for a day or a week in hours or days, which are always as long."""
    return RECURRING_SLACK if period in CALENDAR_DRIFTING else 0
