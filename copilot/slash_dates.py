"""Dates written with slashes ("2026/12/05", "12/05/2026", "12/05/26", "5/12"), read for the grounding checker as one
date each rather than three figures.

Day and month may be either way round, so the claim is each reading that can be a day, joined by "|"
("2026-05-12|2026-12-05"): it holds when the data has any of them as a sure day, or the same claim (a date of the
data that reads either way round backs only itself written so). A year-less pair may also be a ratio the data writes
the same way ("3/4"), so the pair as written is one more reading; a pair of the data backs only that one. A
year-less pair that is a day neither way round ("72/100", "45/60") is no date: it stays two figures. A two-digit
year is of this century.
"""

from __future__ import annotations

import re

SLASH_DATE = re.compile(
    r"(?<![\w./-])(?:(\d{4})/(\d{1,2})/(\d{1,2})|(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?)(?![\w/]|[.,]\d)"
)


def slash_date(match: re.Match[str]) -> str | None:
    """The claim a ``SLASH_DATE`` match makes; None for a year-less pair that is no day. A date no reading makes a
    real day of ("2026/13/45", "40/13/2026") is claimed as written, day after month, which no context holds."""
    year, month, day, first, second, short_year = match.groups()
    if year:
        return f"{year}-{int(month):02d}-{int(day):02d}"
    readings = [(m, d) for d, m in ((first, second), (second, first)) if 1 <= int(d) <= 31 and 1 <= int(m) <= 12]
    if not short_year:
        days = [f"--{int(m):02d}-{int(d):02d}" for m, d in readings]
        return "|".join(dict.fromkeys([*days, match.group()])) if days else None
    full_year = short_year if len(short_year) == 4 else f"20{short_year}"
    return "|".join(dict.fromkeys(f"{full_year}-{int(m):02d}-{int(d):02d}" for m, d in readings or [(second, first)]))
