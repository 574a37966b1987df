"""Keyset (cursor) pagination with whitelisted sorting and filtering.

Cursors are opaque to clients: base64url JSON holding the sort key, direction and the last row's sort
value and id. A cursor is only valid with the sort it was issued for.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from common.errors import InvalidInputError

SortValueType = type[str] | type[datetime] | type[Decimal] | type[int]

# The largest power of ten, either way, a number in a filter or cursor may reach: past any column's range, and
# within what the database driver encodes (beyond it the driver refuses, or wraps 1e140000 round to a tiny number).
LARGEST_EXPONENT = 100


@dataclass(frozen=True)
class RangeFilter:
    """A filter comparing ``column`` with ``op`` to a value of ``kind``: a time (ISO 8601 with its offset, or a
    date, read as midnight in the reader's time zone) or a number."""

    column: str
    op: str
    kind: type[datetime] | type[Decimal]

    def parse(self, name: str, raw: Any, zone: tzinfo = UTC) -> datetime | Decimal:
        try:
            if self.kind is datetime:
                return _parse_time(name, str(raw), zone)
            number = Decimal(str(raw))
            if not number.is_finite():
                raise ValueError("not a finite number")
        except (ValueError, InvalidOperation, OverflowError) as exc:
            wanted = "an ISO 8601 time with its offset, or a date" if self.kind is datetime else "a number"
            raise InvalidInputError(f"{name} must be {wanted}, got {raw!r}", code="invalid_filter") from exc
        if not number:
            return Decimal(0)  # 0E-200000 is zero, with an exponent the driver refuses
        if number.adjusted() > LARGEST_EXPONENT or int(number.as_tuple().exponent) < -LARGEST_EXPONENT:
            raise InvalidInputError(
                f"{name} must be a number below 1e{LARGEST_EXPONENT + 1} in absolute value, with at most "
                f"{LARGEST_EXPONENT} decimal places, got {str(raw)[:40]!r}",
                code="invalid_filter",
            )
        return number


@dataclass(frozen=True)
class KnownValues:
    """What an equality filter on a text column can match: one of ``values`` (a status, a type), or a whole match
    of ``pattern`` (a code's shape, as writes check it). Any other value matches no row, so it is refused rather
    than answered with an empty list or export."""

    values: tuple[str, ...] = ()
    pattern: str | None = None
    example: str | None = None  # a value that fits ``pattern``, for the refusal's message

    def check(self, name: str, raw: Any) -> str:
        text = str(raw)
        if self.values and text not in self.values:
            raise InvalidInputError(
                f"{name} must be one of {', '.join(self.values)}, got {text[:40]!r}",
                code="invalid_filter",
                details={"allowed": list(self.values)},
            )
        if self.pattern is not None and re.fullmatch(self.pattern, text) is None:
            raise InvalidInputError(
                f"{name} must match {self.pattern} (e.g. {self.example}), got {text[:40]!r}", code="invalid_filter"
            )
        return text

    @classmethod
    def of(cls, kinds: Iterable[str]) -> KnownValues:
        """One of ``kinds`` (an enum's members)."""
        return cls(values=tuple(str(kind) for kind in kinds))


# The shapes writes give codes (``inventory.schemas.CountryCode`` and ``Currency``): upper case, as stored.
COUNTRY_CODE = KnownValues(pattern="[A-Z]{2}", example="DE")
CURRENCY_CODE = KnownValues(pattern="[A-Z]{3}", example="EUR")


def _parse_time(name: str, text: str, zone: tzinfo) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        if len(text) > 10:  # a time of day without an offset is ambiguous; a bare date is the reader's midnight
            raise ValueError(f"{name} needs a timezone offset, e.g. 2026-01-31T09:00:00Z")
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)  # OverflowError past year 1 or 9999 in UTC, as the database would refuse it


@dataclass(frozen=True)
class ListQuery:
    """What a caller asked for; validated against a ``Listing`` before any SQL is built."""

    limit: int
    sort: str | None = None
    cursor: str | None = None
    filters: Mapping[str, Any] = field(default_factory=dict)
    search: str | None = None
    # The reader's: a bare date in a time filter is midnight on their calendar, as the times they are shown
    # (exports, the copilot) are on their clock.
    zone: tzinfo = UTC


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class Listing:
    """How one table may be listed. Column names here are trusted identifiers, never user input."""

    table: str
    columns: Sequence[str]
    sortable: Mapping[str, SortValueType]
    default_sort: str
    equality_filters: Mapping[str, str] = field(default_factory=dict)  # name -> SQL type
    # name (an equality filter) -> the values it can match; others are refused (400), not listed as none.
    known_values: Mapping[str, KnownValues] = field(default_factory=dict)
    range_filters: Mapping[str, RangeFilter] = field(default_factory=dict)
    # name -> column: true lists the rows where the column is set, false those where it is not (null).
    presence_filters: Mapping[str, str] = field(default_factory=dict)
    search_columns: Sequence[str] = ()

    def __post_init__(self) -> None:
        if unfiltered := set(self.known_values) - set(self.equality_filters):
            raise ValueError(f"known values for {sorted(unfiltered)}, which are no equality filters of {self.table}")

    def takes_dates(self, query: ListQuery) -> bool:
        """Whether ``query`` gives a time filter, which reads a bare date in the reader's zone."""
        return any(name in query.filters and bound.kind is datetime for name, bound in self.range_filters.items())

    @property
    def filter_names(self) -> list[str]:
        return [*self.equality_filters, *self.range_filters, *self.presence_filters]

    def build(
        self, query: ListQuery, first_param: int = 1, extra_where: Sequence[str] = (), ordered: bool = True
    ) -> tuple[str, list]:
        """SQL and parameters for one page (fetching ``limit + 1`` rows to detect a next page); ``ordered=False``
        leaves the sort out, for a count that needs no order."""
        column, descending = self._parse_sort(query.sort)
        params: list[Any] = []
        where = list(extra_where)

        def param(value: Any) -> str:
            params.append(value)
            return f"${first_param + len(params) - 1}"

        for name, value in query.filters.items():
            if value is None:
                continue
            if name in self.equality_filters:
                if name in self.known_values:
                    value = self.known_values[name].check(name, value)
                where.append(f"{name} = {param(value)}::{self.equality_filters[name]}")
            elif name in self.range_filters:
                bound = self.range_filters[name]
                where.append(f"{bound.column} {bound.op} {param(bound.parse(name, value, query.zone))}")
            elif name in self.presence_filters:
                where.append(f"{self.presence_filters[name]} IS {'NOT ' if value else ''}NULL")
            else:
                raise InvalidInputError(f"unknown filter {name!r}")
        if query.search:
            if not self.search_columns:
                filters = ", ".join(sorted(self.filter_names)) or "none"
                raise InvalidInputError(
                    f"q: this list has no text search; filters allowed here: {filters}", code="unknown_parameter"
                )
            pattern = param("%" + _escape_like(query.search) + "%")
            where.append("(" + " OR ".join(f"{c} ILIKE {pattern}" for c in self.search_columns) + ")")
        if query.cursor:
            value, last_id = self._decode_cursor(query.cursor, column, descending)
            op = "<" if descending else ">"
            where.append(f"({column}, id) {op} ({param(value)}, {param(last_id)}::uuid)")
        direction = "DESC" if descending else "ASC"
        sql = f"SELECT {', '.join(self.columns)} FROM {self.table}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        if ordered:
            sql += f" ORDER BY {column} {direction}, id {direction}"
        sql += f" LIMIT {param(query.limit + 1)}"
        return sql, params

    def page(self, rows: Sequence[Any], query: ListQuery) -> Page:
        items = [dict(r) for r in rows[: query.limit]]
        if len(rows) <= query.limit:
            return Page(items, None)
        column, descending = self._parse_sort(query.sort)
        last = items[-1]
        return Page(items, encode_cursor(column, descending, last[column], last["id"]))

    def _parse_sort(self, sort: str | None) -> tuple[str, bool]:
        raw = sort or self.default_sort
        descending = raw.startswith("-")
        column = raw.lstrip("-")
        if column not in self.sortable:
            allowed = ", ".join(sorted(self.sortable))
            raise InvalidInputError(f"cannot sort by {column!r}; sortable fields: {allowed}", code="invalid_sort")
        return column, descending

    def _decode_cursor(self, cursor: str, column: str, descending: bool) -> tuple[Any, UUID]:
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            data = json.loads(base64.urlsafe_b64decode(padded.encode()))
            if not isinstance(data, dict) or data.get("k") != column or data.get("d") != descending:
                raise ValueError("cursor was issued for another sort order")
            value = _parse_value(self.sortable[column], data["v"])
            return value, UUID(data["id"])
        except (
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            OverflowError,
            binascii.Error,
            InvalidOperation,
            UnicodeDecodeError,
            RecursionError,  # a crafted cursor of nested brackets: json gives up past a thousand levels
        ) as exc:
            raise InvalidInputError(
                "invalid cursor: pass back the next_cursor of the previous page unchanged, with the same sort",
                code="invalid_cursor",
                details={"reason": str(exc)},
            ) from exc


def encode_cursor(column: str, descending: bool, value: Any, last_id: UUID) -> str:
    if isinstance(value, datetime):
        serialised: Any = value.isoformat()
    elif isinstance(value, Decimal):
        serialised = str(value)
    else:
        serialised = value
    # UTF-8, not \u escapes: a name of 200 Cyrillic or CJK characters then fits the cursor parameter's length.
    cursor = {"k": column, "d": descending, "v": serialised, "id": str(last_id)}
    raw = json.dumps(cursor, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _parse_value(kind: SortValueType, raw: Any) -> Any:
    if kind is datetime:
        value = datetime.fromisoformat(raw)
        if value.tzinfo is None:
            raise ValueError("cursor time has no offset")
        return value.astimezone(UTC)  # OverflowError past year 1 or 9999 in UTC, as the encoder would raise
    if kind is Decimal:
        number = Decimal(str(raw))
        # No cursor the API issues holds NaN or 1e-20000.
        if not number.is_finite() or abs(number.adjusted()) > LARGEST_EXPONENT:
            raise ValueError("cursor number is not a stored value")
        return number
    if kind is int:
        if not isinstance(raw, int):
            raise ValueError("cursor value is not an integer")
        return raw
    if not isinstance(raw, str):
        raise ValueError("cursor value is not a string")
    return raw


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
