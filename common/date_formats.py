"""The date format of a planner's file, checked or told from its dates: one rule for every importer (delivery
histories in ``risk``, forecast histories in ``training``), so that 01/02/2024 is read as 1 February only where the
file says the day comes first, and refused where nothing in it tells the day from the month."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime

from common.errors import InvalidInputError

_SAMPLE_DAY = date(2024, 12, 31)  # any day: a date format must read back the dates it writes


def parse_date_format(text: str | None, option: str = "date_format") -> str | None:
    """The dates' strptime format, refused unless it reads back a date it wrote (a repeated directive, as in
    ``%Y-%m-%m``, makes strptime raise re.error on every date); None (detect it) when not given. ``option`` is
    the name the user gave it by, for the message."""
    if not text:
        return None
    if "%" not in text:
        raise InvalidInputError(f"{option} {text!r} has no strptime directive", code="invalid_date_format")
    try:
        datetime.strptime(_SAMPLE_DAY.strftime(text), text)
    except (ValueError, re.error) as exc:
        raise InvalidInputError(
            f"{option} {text!r} is not a strptime format of dates: {exc}", code="invalid_date_format"
        ) from exc
    return text


def detect_date_format(values: Sequence[str], formats: Sequence[str], option: str = "date_format") -> str:
    """The one of ``formats`` that reads the most non-blank values (pass every date column's), so that a few
    malformed dates are reported row by row instead of refusing the file; refuses when none reads any, or when
    two read as many but disagree (01/02/2024 and 12/01/2024 alone cannot say which is the month). The refusal's
    details name ``ambiguous``, a value the two read as different days."""
    sample = [v for v in values if v][:6_000]
    readings = {fmt: [_read(value, fmt) for value in sample] for fmt in formats}
    counts = {fmt: sum(day is not None for day in days) for fmt, days in readings.items()}
    best = max(formats, key=lambda fmt: counts[fmt])
    if counts[best] == 0:
        raise InvalidInputError(
            "could not detect the date format (tried " + ", ".join(formats) + f"); give {option}",
            code="invalid_date_format",
            details={"examples": sample[:3]},
        )
    rivals = [f for f in formats if f != best and counts[f] == counts[best] and readings[f] != readings[best]]
    if rivals:
        # A value both read, as different days, rather than one only the other reads.
        differing = [
            (one is not None and other is not None, value)
            for value, one, other in zip(sample, readings[best], readings[rivals[0]], strict=True)
            if one != other
        ]
        ambiguous = next((value for both, value in differing if both), differing[0][1])
        raise InvalidInputError(
            f"the dates read as {best} and as {rivals[0]} alike (no day above 12 tells the month): give {option}",
            code="ambiguous_date_format",
            details={"examples": sample[:3], "formats": [best, *rivals], "ambiguous": ambiguous},
        )
    return best


def _read(value: str, fmt: str) -> date | None:
    try:
        return datetime.strptime(value, fmt).date()
    except ValueError:
        return None
