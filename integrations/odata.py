"""Small OData helpers shared by the SAP (v2) and Dynamics (v4) connectors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

_V2_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def parse_v2_date(value: Any) -> datetime | None:
    """OData v2 JSON dates: ``/Date(1767600000000)/`` or ``/Date(1767600000000+0000)/`` (ms since epoch, UTC)."""
    if not isinstance(value, str):
        return None
    match = _V2_DATE.match(value)
    if match is None:
        return None
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(match.group(1)))


def v2_date(moment: datetime) -> str:
    return f"/Date({int(moment.timestamp() * 1000)}+0000)/"


def quote(value: str) -> str:
    """An OData string literal: single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"
