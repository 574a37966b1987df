"""One shape for every list endpoint: a page of typed items, with filters and sorting taken from the ``Listing``.

The route's parameters, its description and its OpenAPI entry all come from the listing that builds the SQL,
so what a list endpoint documents is exactly what it accepts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, Generic, TypeVar

import asyncpg
from fastapi import APIRouter, Request
from pydantic import BaseModel

from common.database import TenantTransaction
from common.errors import PermissionDeniedError
from deployments.api.deps import CallerDep
from deployments.api.listing_params import CursorParam, LimitParam, SearchParam, SortParam, list_query
from inventory import members
from inventory.listing import Listing, ListQuery, Page

ItemT = TypeVar("ItemT", bound=BaseModel)

Fetch = Callable[[asyncpg.Connection, ListQuery], Awaitable[Page]]

_FILTER_SCHEMAS: dict[str, dict[str, str]] = {
    "uuid": {"type": "string", "format": "uuid"},
    "boolean": {"type": "boolean"},
}


class PageOf(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None


def add_list_route(
    router: APIRouter,
    path: str,
    listing: Listing,
    item_model: type[BaseModel],
    fetch: Fetch,
    summary: str,
    *,
    admin_only: bool = False,
) -> None:
    """GET ``path``: one page of ``listing`` as ``item_model`` items, read under the caller's row-level security."""
    page_model: Any = PageOf[item_model]  # type: ignore[valid-type]

    async def read(caller: CallerDep, query: ListQuery) -> Any:
        async def op(tx: TenantTransaction) -> Page:
            if admin_only and tx.role.value != "admin":
                raise PermissionDeniedError(f"only an admin can list these: {summary.lower()}")
            if listing.takes_dates(query):
                return await fetch(tx.conn, replace(query, zone=await members.zone_for(tx.conn, tx.user_id)))
            return await fetch(tx.conn, query)

        page = await caller.run(op)
        return page_model(items=[item_model.model_validate(i) for i in page.items], next_cursor=page.next_cursor)

    if listing.search_columns:

        async def endpoint(
            request: Request,
            caller: CallerDep,
            limit: LimitParam = 50,
            cursor: CursorParam = None,
            sort: SortParam = None,
            q: SearchParam = None,
        ) -> Any:
            return await read(caller, list_query(listing, request, limit, cursor, sort, q))

    else:

        async def endpoint(  # type: ignore[misc]
            request: Request,
            caller: CallerDep,
            limit: LimitParam = 50,
            cursor: CursorParam = None,
            sort: SortParam = None,
        ) -> Any:
            return await read(caller, list_query(listing, request, limit, cursor, sort, None))

    router.add_api_route(
        path,
        endpoint,
        methods=["GET"],
        name=f"list_{item_model.__name__}",
        summary=summary,
        description=describe(listing),
        response_model=page_model,
        openapi_extra={"parameters": filter_parameters(listing)},
    )


def describe(listing: Listing) -> str:
    filters = listing.filter_names
    lines = [f"Filters: {', '.join(filters) if filters else 'none'}."]
    if listing.search_columns:
        lines.append(f"`q` searches {', '.join(listing.search_columns)} (case-insensitive).")
    lines.append(
        f"Sortable by {', '.join(listing.sortable)} (default {listing.default_sort}); prefix - for descending."
    )
    return " ".join(lines)


def filter_parameters(listing: Listing) -> list[dict[str, Any]]:
    """The listing's filters as OpenAPI query parameters (the route reads them from the query string itself)."""
    parameters = [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": f"only rows whose {name} equals this",
            "schema": _equality_schema(listing, name, sql_type),
        }
        for name, sql_type in listing.equality_filters.items()
    ]
    parameters += [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": f"only rows whose {bound.column} {bound.op} this"
            + (
                " (ISO 8601 with its offset, or a date: midnight in the reader's profile time zone, UTC without one)"
                if bound.kind is datetime
                else ""
            ),
            "schema": {"type": "string", "maxLength": 64} if bound.kind is datetime else {"type": "number"},
        }
        for name, bound in listing.range_filters.items()
    ]
    parameters += [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": f"true: only rows with a {column}; false: only rows without one",
            "schema": {"type": "boolean"},
        }
        for name, column in listing.presence_filters.items()
    ]
    return parameters


def _equality_schema(listing: Listing, name: str, sql_type: str) -> dict[str, Any]:
    known = listing.known_values.get(name)
    if known is not None and known.values:
        return {"type": "string", "enum": list(known.values)}
    if known is not None and known.pattern is not None:
        return {"type": "string", "pattern": f"^{known.pattern}$", "example": known.example}
    return _FILTER_SCHEMAS.get(sql_type, {"type": "string", "maxLength": 200})
