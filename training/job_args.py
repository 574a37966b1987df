"""Argument types and checks the job command lines share (``python -m deployments.jobs <job>``).

A bad value is refused by argparse, one line naming the option and exit status 2, before the job reads its
settings or starts Ray: until 2026-12-07 some were found only after work had started (a run registered, a model
trained), or ended in a Python traceback. Light to import (the nightly job parses its options with it): the
forecasting modules are imported by the checks that need them.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from datetime import date

from training.errors import ForecastInputError


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum``."""

    def whole_number(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be a whole number of at least {minimum}, got {text!r}")
        return value

    return whole_number


def positive_number(text: str) -> float:
    """An argparse type: a finite number above 0."""
    value = _finite(text)
    if value is None or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {text!r}")
    return value


def non_negative_number(text: str) -> float:
    """An argparse type: a finite number of at least 0."""
    value = _finite(text)
    if value is None or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number of at least 0, got {text!r}")
    return value


def names(choices: Sequence[str], what: str) -> Callable[[str], list[str]]:
    """An argparse type: comma-separated names among ``choices``, the spaces around each ignored, none twice."""

    def parse(text: str) -> list[str]:
        given = [name.strip() for name in text.split(",")]
        for name in given:
            if name not in choices:
                raise argparse.ArgumentTypeError(f"unknown {what} {name!r}; choose from {', '.join(choices)}")
            if given.count(name) > 1:
                raise argparse.ArgumentTypeError(f"{name!r} named twice")
        return given

    return parse


def quantile_levels(text: str) -> list[float]:
    """An argparse type: comma-separated quantile levels, each strictly between 0 and 1 (``validate_quantiles``:
    sorted and distinct)."""
    from training.validation import validate_quantiles

    try:
        levels = validate_quantiles([float(level) for level in text.split(",")])
    except ForecastInputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated numbers between 0 and 1, got {text!r}") from None
    return levels


def planned_day(text: str) -> date:
    """An argparse type: a day (YYYY-MM-DD) a plan may name (``inventory.schemas.plannable``: a scan as of a day past
    2262 failed on pandas' dates for every tenant, after Ray had started)."""
    from inventory.schemas import plannable

    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date (YYYY-MM-DD), got {text!r}") from None
    try:
        return plannable(day)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def horizon_problem(horizon: int, freq: str) -> str | None:
    """Why ``horizon`` steps of ``freq`` cannot be forecast (not between 1 and ``frequency.MAX_HORIZON``), or None."""
    from training.frequency import MAX_HORIZON

    longest = MAX_HORIZON[freq]
    if 1 <= horizon <= longest:
        return None
    return f"must be between 1 and {longest} for --freq {freq}, got {horizon}"


def check_horizon(parser: argparse.ArgumentParser, horizon: int, freq: str) -> None:
    """``parser.error`` unless ``horizon`` is between 1 and the frequency's longest (``horizon_problem``)."""
    problem = horizon_problem(horizon, freq)
    if problem:
        parser.error(f"argument --horizon: {problem}")


def _finite(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
