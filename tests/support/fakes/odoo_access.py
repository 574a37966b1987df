"""The fake Odoo's errors and record rules (``tests.support.fakes.odoo``).

Record rules: ``FakeOdoo.hidden`` names, per model, the ids the API user may not see (a company it lost access to,
as Odoo's multi-company rules hide it). ``search_read`` leaves them out, as Odoo applies the rules to the search;
``read`` of ids (``read(ids, fields)`` over JSON-RPC, ``ids`` and ``fields`` by name over JSON-2) leaves out the ids
that no longer exist and refuses with ``odoo.exceptions.AccessError`` the ones that exist but are hidden, as Odoo's
``read`` does (it checks the missing ones with ``exists()``, a plain SELECT that ignores the rules). ``exists`` itself
is ``@api.private`` since Odoo 18 (refused remotely: "Private methods ... cannot be called remotely"), callable in 17.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.support.fakes.odoo import FakeOdoo


class OdooError(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name, self.message = name, message

    def json2(self, status: int) -> dict[str, Any]:
        return {
            "name": self.name,
            "message": self.message,
            "arguments": [self.message, status],
            "context": {},
            "debug": f"Traceback (most recent call last):\n...\n{self.name}: {self.message}\n",
        }

    def body(self) -> dict[str, Any]:
        return {
            "code": 200,
            "message": "Odoo Server Error",
            "data": {
                "name": self.name,
                "debug": f"Traceback (most recent call last):\n...\n{self.name}: {self.message}\n",
                "message": self.message,
                "arguments": [self.message],
                "context": {},
            },
        }


def visible(fake: FakeOdoo, model: str, record: dict[str, Any]) -> bool:
    return record["id"] not in fake.hidden.get(model, ())


def read(fake: FakeOdoo, model: str, ids: list[int], fields: list[str]) -> list[dict[str, Any]]:
    """``read``: the existing of ``ids`` (the deleted left out), or AccessError where one exists but is hidden.
    Asked for ``id`` alone Odoo fetches no column (its ORM skips ``id``), so every id comes back, deleted or not."""
    table = fake.models.get(model, {})
    existing = [i for i in ids if i in table]
    if forbidden := [i for i in existing if not visible(fake, model, table[i])]:
        raise OdooError(
            "odoo.exceptions.AccessError",
            f"Due to security restrictions, you are not allowed to access '{model}' records. "
            f"Records: {', '.join(f'(id={i})' for i in forbidden)}",
        )
    if set(fields) <= {"id"}:
        return [{"id": i} for i in ids]
    return fake._search_read(model, [("id", "in", existing)], {"fields": fields})


def exists(fake: FakeOdoo, model: str, ids: list[int]) -> list[int]:
    if fake.version >= 18:
        raise OdooError(
            "odoo.exceptions.AccessError", f"Private methods (such as '{model}.exists') cannot be called remotely."
        )
    return [i for i in ids if i in fake.models.get(model, {})]
