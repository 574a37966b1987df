"""Query parameters shared by every list endpoint, checked against the listing's allowed filters."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any
from uuid import UUID

from fastapi import Query, Request

from common.errors import InvalidInputError
from inventory.listing import Listing, ListQuery

MAX_PAGE_SIZE = 200
_PAGING = {"limit", "cursor", "sort", "q"}


def list_query(
    listing: Listing,
    request: Request,
    limit: int,
    cursor: str | None,
    sort: str | None,
    q: str | None,
    options: frozenset[str] = frozenset(),
) -> ListQuery:
    """``options``: the route's own query parameters besides the paging ones (not filters)."""
    filters: dict[str, Any] = {}
    for name, raw in request.query_params.items():
        if name in _PAGING or name in options:
            continue
        if name in listing.equality_filters:
            filters[name] = _coerce(name, raw, listing.equality_filters[name])
        elif name in listing.range_filters:
            filters[name] = raw
        elif name in listing.presence_filters:
            filters[name] = _coerce(name, raw, "boolean")
        else:
            raise unknown_parameter(name, listing.filter_names)
    # A list without text search declares no q: read it anyway, so the listing refuses it rather than list all.
    search = q if q is not None else request.query_params.get("q")
    return ListQuery(limit=limit, cursor=cursor, sort=sort, search=search, filters=filters)


def unknown_parameter(name: str, filters: Iterable[str]) -> InvalidInputError:
    """The 400 for a query parameter the route does not take (a misspelt filter must not list everything)."""
    return InvalidInputError(
        f"unknown query parameter {name!r}; filters allowed here: {', '.join(sorted(filters)) or 'none'}",
        code="unknown_parameter",
    )


def _coerce(name: str, raw: str, sql_type: str) -> Any:
    if sql_type == "boolean":
        lowered = raw.lower()
        if lowered not in {"true", "false"}:
            raise InvalidInputError(f"{name} must be true or false, got {raw!r}", code="invalid_filter")
        return lowered == "true"
    if sql_type == "uuid":
        try:
            return UUID(raw)
        except ValueError as exc:
            raise InvalidInputError(f"{name} must be a UUID, got {raw!r}", code="invalid_filter") from exc
    return raw


LimitParam = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"page size, at most {MAX_PAGE_SIZE}")]
CursorParam = Annotated[str | None, Query(max_length=2000, description="next_cursor from the previous page")]
SortParam = Annotated[str | None, Query(max_length=64, description="field to sort by; prefix with - for descending")]
SearchParam = Annotated[str | None, Query(max_length=200, description="case-insensitive text search")]
