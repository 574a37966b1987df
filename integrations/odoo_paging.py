"""Reading what changed in an Odoo model since the last sync, page by page, without a loop or a skip.

Odoo stamps every record one transaction writes with the same ``write_date`` (the transaction's time, stored with
microseconds) and answers it cut to whole seconds, and Odoo 17 and 18 compare a domain's datetime string as given:
``write_date > 'S'`` holds for every record of second S, ``write_date = 'S'`` for none. A keyset on
(write_date, id) therefore served the same page for ever once one transaction wrote a page or more of records (a
product import). So each run reads a window fixed when it starts, ``since <= write_date < until``, ordered and
paged by id alone: a record written meanwhile leaves the window for the next one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

STAMP = "%Y-%m-%d %H:%M:%S"

ExecuteKw = Callable[[str, str, list[Any], dict[str, Any]], Awaitable[Any]]


async def changed_pages(
    execute_kw: ExecuteKw,
    model: str,
    domain: list[Any],
    fields: list[str],
    cursor: dict[str, Any] | None,
    page_size: int,
) -> Any:
    """Yield (rows, the cursor to store after them): mid-window cursors name the window and the last id; the
    last page's is the window's end, where the next run starts (a page of no rows carries it when needed)."""
    state = cursor or {}
    since = state.get("write_date")
    newest = state.get("newest") or await _newest_second(execute_kw, model, domain)
    if newest is None:
        return
    # Through the newest second; the next window starts at it again, so a record of that second committed after
    # this read (its transaction began before it) is still read, once more at worst ("unchanged").
    until = (datetime.strptime(newest, STAMP) + timedelta(seconds=1)).strftime(STAMP)
    window = [("write_date", "<", until), *([("write_date", ">=", since)] if since else [])]
    after_id = int(state.get("after_id") or 0)
    while True:
        rows = await execute_kw(
            model,
            "search_read",
            [[*domain, *window, ("id", ">", after_id)]],
            {"fields": [*fields, "write_date"], "order": "id asc", "limit": page_size},
        )
        if len(rows) < page_size:
            yield rows, {"write_date": newest}
            return
        after_id = rows[-1]["id"]
        yield rows, {"write_date": since, "newest": newest, "after_id": after_id}


async def _newest_second(execute_kw: ExecuteKw, model: str, domain: list[Any]) -> str | None:
    """The newest ``write_date`` Odoo holds for the model (Odoo's clock, not ours), to the second."""
    rows = await execute_kw(
        model, "search_read", [domain], {"fields": ["write_date"], "order": "write_date desc", "limit": 1}
    )
    return str(rows[0]["write_date"])[:19] if rows and rows[0].get("write_date") else None
