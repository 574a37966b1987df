"""Which orders Odoo deleted, told apart from those its record rules hide from the API user.

``search_read`` applies the record rules: an order in a company the API user lost access to is left out as if it were
deleted. ``read`` of ids tells the two apart: it leaves out the ids that no longer exist and refuses
(``odoo.exceptions.AccessError``) when one exists but is hidden. (``exists()``, a plain SELECT that ignores the rules,
would say it directly, but it is ``@api.private`` since Odoo 18: refused remotely.) Odoo deletes only a draft or
cancelled order (``unlink``), so a confirmed order that goes missing is almost certainly hidden.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from integrations.errors import ConnectorAuthError, ConnectorProtocolError
from integrations.records import PurchaseOrderStatus

ExecuteKw = Callable[[str, str, list[Any], dict[str, Any]], Awaitable[Any]]
_CHUNK = 1000
_NAMED = 10  # hidden orders named in the error, and read one by one at most past a refused chunk


class OdooAccessError(ConnectorAuthError):
    """Odoo's ``AccessError``: the API user may not read or write the records (access rights or record rules), which
    is not a refused key (``AccessDenied``)."""


class HiddenOrdersError(OdooAccessError):
    """Orders open here exist in Odoo but its record rules hide them from the API user: none is closed."""


async def gone_orders(execute_kw: ExecuteKw, known: Mapping[str, str]) -> dict[str, PurchaseOrderStatus]:
    """Of ``known`` (Odoo ids of orders open here, with their numbers), those Odoo deleted, cancelled. Raises
    ``HiddenOrdersError`` where one of the others exists but is hidden: nothing is closed until Odoo shows it again."""
    ids = sorted(int(order_id) for order_id in known)
    held: set[int] = set()
    for chunk in _chunks(ids):
        rows = await execute_kw("purchase.order", "search_read", [[("id", "in", chunk)]], {"fields": ["id"]})
        held.update(_ids(rows))
    missing = [i for i in ids if i not in held]
    hidden: list[int] = []
    for chunk in _chunks(missing):
        try:
            held.update(await _read(execute_kw, chunk))
        except OdooAccessError:  # some of the chunk exist, hidden: which ones, read one by one
            for order_id in chunk:
                try:
                    held.update(await _read(execute_kw, [order_id]))
                except OdooAccessError:
                    hidden.append(order_id)
                    if len(hidden) >= _NAMED:
                        break
        if len(hidden) >= _NAMED:
            break
    if hidden:
        named = ", ".join(f"{known[str(i)]} (id {i})" for i in hidden)
        more = " (perhaps more among them)" if len(hidden) >= _NAMED else ""
        raise HiddenOrdersError(
            f"Odoo order(s) {named}{more} exist but are hidden from the API user by record rules (a company it no "
            "longer has access to?): they are not closed here, nor any order Odoo deleted, until the API user sees "
            "them again or they are cancelled here"
        )
    return {str(i): PurchaseOrderStatus.CANCELLED for i in missing if i not in held}


async def _read(execute_kw: ExecuteKw, ids: list[int]) -> set[int]:
    """The existing of ``ids``, visible to the API user; ``OdooAccessError`` where one exists but is hidden. A stored
    column is read: asked for ``id`` alone, Odoo fetches nothing and answers every id, the deleted ones too."""
    return _ids(await execute_kw("purchase.order", "read", [ids], {"fields": ["state"]}))


def _ids(rows: Any) -> set[int]:
    if not isinstance(rows, list):
        raise ConnectorProtocolError(f"Odoo answered a purchase.order read with {type(rows).__name__}")
    return {int(r["id"]) for r in rows}


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[start : start + _CHUNK] for start in range(0, len(ids), _CHUNK)]
