"""Walking a SuiteQL read's keyset pages and writing its SELECT (integrations/netsuite_suiteql.py)."""

from __future__ import annotations

from typing import Any

from integrations.netsuite_suiteql import pages, select_query


class Account:
    """Answers the queued pages in turn and keeps the queries it was asked."""

    def __init__(self, *answers: dict[str, Any]) -> None:
        self.answers = list(answers)
        self.queries: list[str] = []

    async def ask(self, query: str) -> dict[str, Any]:
        self.queries.append(query)
        return self.answers.pop(0)


def after_id(last: dict[str, Any] | None) -> str:
    return "SELECT t.id FROM t" + ("" if last is None else f" WHERE t.id > {last['id']}")


async def read(account: Account) -> list[list[dict[str, Any]]]:
    return [rows async for rows in pages(account.ask, after_id)]


async def test_each_next_page_is_asked_after_the_last_row_read():
    account = Account({"items": [{"id": 3}, {"id": 7}], "hasMore": True}, {"items": [{"id": 9}], "hasMore": False})
    assert await read(account) == [[{"id": 3}, {"id": 7}], [{"id": 9}]]
    assert account.queries == ["SELECT t.id FROM t", "SELECT t.id FROM t WHERE t.id > 7"]


async def test_a_page_without_more_ends_the_read():
    account = Account({"items": [{"id": 3}]}, {"items": [{"id": 4}]})
    assert await read(account) == [[{"id": 3}]]
    assert len(account.queries) == 1


async def test_an_empty_page_ends_the_read_even_with_more_announced():
    account = Account({"items": [], "hasMore": True}, {"items": [{"id": 4}]})
    assert await read(account) == []
    assert len(account.queries) == 1


def test_a_grouped_select_groups_and_orders_by_the_same_columns():
    query = select_query(
        "b.item, SUM(b.q) AS q", "InventoryBalance b", ["b.q > 0", "b.item > 5"], ("b.item",), grouped=True
    )
    where = "WHERE b.q > 0 AND b.item > 5"
    assert query == f"SELECT b.item, SUM(b.q) AS q FROM InventoryBalance b {where} GROUP BY b.item ORDER BY b.item"


def test_a_select_without_clauses_has_no_where():
    assert select_query("t.id", "transaction t", [], ("t.id",)) == "SELECT t.id FROM transaction t ORDER BY t.id"
