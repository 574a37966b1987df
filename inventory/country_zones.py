"""The time zone a warehouse's country implies, where it implies one.

A country whose every zone in the tz database (``zone.tab``) keeps the same UTC offset on each day of the coming
year keeps one time: Germany (Europe/Berlin and Europe/Busingen agree), France, Japan, India. Others do not
(the United States, Brazil, Spain with the Canaries, China with Urumqi's solar time): for them the warehouse's
zone must be given, and nothing is guessed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

_DAYS_COMPARED = 366


@cache
def _zones_by_country() -> dict[str, tuple[str, ...]]:
    zones: dict[str, list[str]] = {}
    for line in (resources.files("tzdata") / "zoneinfo" / "zone.tab").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        country, _coordinates, zone, *_ = line.split("\t")
        zones.setdefault(country, []).append(zone)
    return {country: tuple(names) for country, names in zones.items()}


@cache
def country_zone(country: str) -> str | None:
    """The country's first listed zone when all its zones keep one time over the coming year, else None."""
    zones = _zones_by_country().get(country.upper(), ())
    if not zones:
        return None
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    days = [today + timedelta(days=n) for n in range(_DAYS_COMPARED)]
    offsets = {tuple(day.astimezone(ZoneInfo(zone)).utcoffset() for day in days) for zone in zones}
    return zones[0] if len(offsets) == 1 else None
