"""Query parameters shared by every list endpoint, checked against the listing's allowed filters."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import Query, Request

from common.errors import InvalidInputError
from deployments.api.known_query import unknown_parameters
from inventory.listing import Listing, ListQuery

MAX_PAGE_SIZE = 200
PAGING = frozenset({"limit", "cursor", "sort", "q"})


def list_query(
    listing: Listing,
    request: Request,
    limit: int,
    cursor: str | None,
    sort: str | None,
    q: str | None,
    options: frozenset[str] = frozenset(),
    paging: frozenset[str] = PAGING,
) -> ListQuery:
    """``options``: the route's own query parameters besides the paging ones (not filters); ``paging``: those of
    ``PAGING`` the route takes (an export has no pages: a ``limit`` there is refused, not ignored)."""
    filters: dict[str, Any] = {}
    unknown: set[str] = set()
    for name, raw in request.query_params.items():
        if name in paging or name in options:
            continue
        if name in listing.equality_filters:
            filters[name] = _coerce(name, raw, listing.equality_filters[name])
        elif name in listing.range_filters:
            filters[name] = raw
        elif name in listing.presence_filters:
            filters[name] = _coerce(name, raw, "boolean")
        else:
            unknown.add(name)
    if unknown:
        raise unknown_parameters(unknown, {*listing.filter_names, *paging, *options})
    # A list without text search declares no q: read it anyway, so the listing refuses it rather than list all.
    search = q if q is not None else request.query_params.get("q")
    return ListQuery(limit=limit, cursor=cursor, sort=sort, search=search, filters=filters)


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
