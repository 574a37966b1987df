"""Market risk at scale: each series reads only its own open lines, and the report pages through every series."""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest

from common.errors import InvalidInputError
from risk import service
from risk.market_report import lines_by_series
from tests.risk.conftest import TODAY
from tests.support.rows import insert, insert_many


class CountingRow(Mapping[str, Any]):
    """A fetched row that counts how often each of its fields is read."""

    def __init__(self, row: Mapping[str, Any], reads: Counter[tuple[Any, str]]) -> None:
        self._row, self._reads = dict(row), reads

    def __getitem__(self, key: str) -> Any:
        self._reads[(self._row.get("id"), key)] += 1
        return self._row[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._row)

    def __len__(self) -> int:
        return len(self._row)


class CountingConnection:
    """The transaction's connection, its fetched rows counting their reads."""

    def __init__(self, conn: Any, reads: Counter[tuple[Any, str]]) -> None:
        self._conn, self._reads = conn, reads

    async def fetch(self, *args: Any) -> list[CountingRow]:
        return [CountingRow(r, self._reads) for r in await self._conn.fetch(*args)]


class CountingTransaction:
    def __init__(self, tx: Any, reads: Counter[tuple[Any, str]]) -> None:
        self.conn, self.tenant_id = CountingConnection(tx.conn, reads), tx.tenant_id


async def _products_with_prices(world, count: int, *, currency: str = "EUR") -> list[Any]:
    """``count`` new products, each with four prices rising from ``10 + i`` (its index) in ``currency``."""
    supplier = await world.supplier(f"PRICES-{currency}")
    async with world.pool.acquire() as conn:
        products = [
            await insert(conn, "products", tenant_id=world.tenant.id, sku=f"M-{currency}-{i:02d}", name=f"M {i}",
                         unit_of_measure="each")
            for i in range(count)
        ]  # fmt: skip
        await insert_many(
            conn,
            "supplier_price_history",
            [
                {"tenant_id": world.tenant.id, "supplier_id": supplier, "product_id": product,
                 "observed_on": TODAY - timedelta(days=200 - 30 * k), "unit_price": Decimal(10 + i + k * (i % 3)),
                 "currency": currency, "import_key": f"{currency}-{i}-{k}"}
                for i, product in enumerate(products) for k in range(4)
            ],
        )  # fmt: skip
    return products


async def _draft_lines(world, products: list[Any], unit_price: Decimal, currency: str = "EUR") -> None:
    """One draft order with a line of each product at ``unit_price``."""
    supplier = await world.supplier(f"DRAFTS-{currency}")
    async with world.pool.acquire() as conn:
        order = await insert(
            conn, "purchase_orders", tenant_id=world.tenant.id, supplier_id=supplier,
            warehouse_id=world.tenant.warehouses[0], currency=currency, expected_date=TODAY + timedelta(days=30),
            status="draft",
        )  # fmt: skip
        await insert_many(
            conn,
            "purchase_order_lines",
            [
                {"tenant_id": world.tenant.id, "purchase_order_id": order, "line_no": n + 1, "product_id": product,
                 "quantity": 5, "uom": "each", "uom_factor": 1, "quantity_base": 5, "unit_price": unit_price}
                for n, product in enumerate(products)
            ],
        )  # fmt: skip


async def _issued_order(
    world, supplier: Any, issued_at: datetime, unit_price: str, *, status: str = "issued", cancelled: int = 0
) -> None:
    async with world.pool.acquire() as conn:
        order = await insert(
            conn, "purchase_orders", tenant_id=world.tenant.id, supplier_id=supplier,
            warehouse_id=world.tenant.warehouses[0], currency="EUR", status=status, issued_at=issued_at,
            created_at=issued_at,
        )  # fmt: skip
        await insert(
            conn, "purchase_order_lines", tenant_id=world.tenant.id, purchase_order_id=order, line_no=1,
            product_id=world.tenant.products[0], quantity=10, uom="each", uom_factor=1, quantity_base=10,
            unit_price=Decimal(unit_price), cancelled_base=cancelled,
        )  # fmt: skip


async def test_the_later_of_two_same_day_prices_is_the_last_price_whichever_was_stored_first(world):
    # Before, same-day prices came in storage order: the 15:00 order stored first read 10.00 last (-16.67%).
    regular, other = await world.supplier("REGULAR"), await world.supplier("OTHER")
    first_day = TODAY - timedelta(days=100)
    for k in range(6):
        await _issued_order(world, regular, datetime.combine(first_day + timedelta(days=14 * k), time(9), UTC), "10.00")
    last_day = first_day + timedelta(days=14 * 6)
    await _issued_order(world, other, datetime.combine(last_day, time(15), UTC), "12.00")
    await _issued_order(world, regular, datetime.combine(last_day, time(8), UTC), "10.00")
    [product] = (await world.run(lambda tx: service.market_risk(tx, None)))["products"]
    assert (product["last_price"], product["last_change_pct"], product["shock"]) == (12.0, 20.0, True)


async def test_a_line_closed_with_nothing_received_is_no_price_in_the_history(world):
    # Before, a line closed with nothing received (cancelled in the ERP) was a price paid: 25.00 read as the last
    # price, a 150% shock, though nothing was bought at it.
    supplier = await world.supplier("REGULAR")
    first_day = TODAY - timedelta(days=100)
    issued = [datetime.combine(first_day + timedelta(days=14 * k), time(9), UTC) for k in range(7)]
    for issued_at in issued[:6]:
        await _issued_order(world, supplier, issued_at, "10.00")
    cancelled_on = issued[6]
    await _issued_order(world, supplier, cancelled_on, "25.00", status="received", cancelled=10)
    [product] = (await world.run(lambda tx: service.market_risk(tx, None)))["products"]
    assert (product["observations"], product["last_price"], product["shock"]) == (6, 10.0, False)


async def test_each_open_line_is_read_for_its_own_series_only(world):
    # Before, every series scanned every open line: with 12 products each line's product was read 12 times (50,000
    # products and 20,000 lines took minutes on the replica's event loop).
    products = await _products_with_prices(world, 12)
    await _draft_lines(world, products, Decimal(1000))
    reads: Counter[tuple[Any, str]] = Counter()
    result = await world.run(lambda tx: service.market_risk(CountingTransaction(tx, reads), None))
    line_ids = {flag["line_id"] for flag in result["price_flags"]}
    assert len(line_ids) == 12  # every line priced far above its own history is flagged
    assert max(reads[(line_id, "product_id")] for line_id in line_ids) == 1


def test_lines_are_grouped_by_product_and_currency_in_their_order():
    lines = [
        {"id": 1, "product_id": "a", "currency": "EUR"},
        {"id": 2, "product_id": "b", "currency": "EUR"},
        {"id": 3, "product_id": "a", "currency": "USD"},
        {"id": 4, "product_id": "a", "currency": "EUR"},
    ]
    grouped = lines_by_series(lines)
    assert {key: [line["id"] for line in group] for key, group in grouped.items()} == {
        ("a", "EUR"): [1, 4],
        ("b", "EUR"): [2],
        ("a", "USD"): [3],
    }


async def test_pages_reach_every_series_once_in_the_unpaged_order_with_their_flags(world):
    products = await _products_with_prices(world, 7)
    in_usd = await _products_with_prices(world, 2, currency="USD")
    await _draft_lines(world, products + in_usd[:1], Decimal(1000))
    await _draft_lines(world, in_usd, Decimal(1000), currency="USD")
    everything = await world.run(lambda tx: service.market_risk(tx, None))
    pages, cursor = [], None
    while True:
        page = await world.run(lambda tx, after=cursor: service.market_risk(tx, None, limit=3, cursor=after))
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [len(page["products"]) for page in pages] == [3, 3, 3]
    assert {page["total"] for page in pages} == {9} == {everything["total"]}
    assert [p for page in pages for p in page["products"]] == everything["products"]
    for page in pages:  # each page carries the flags of its own series
        series = {(p["product_id"], p["currency"]) for p in page["products"]}
        assert {(f["product_id"], f["currency"]) for f in page["price_flags"]} <= series
    paged_flags = sorted(f["line_id"] for page in pages for f in page["price_flags"])
    assert paged_flags == sorted(f["line_id"] for f in everything["price_flags"])
    assert len(paged_flags) == 9  # the EUR line of a USD-priced product has no EUR history to compare


async def test_a_cursor_the_report_did_not_issue_is_refused(world):
    with pytest.raises(InvalidInputError) as refused:
        await world.run(lambda tx: service.market_risk(tx, None, limit=3, cursor="bm90IGEgY3Vyc29y"))
    assert refused.value.code == "invalid_cursor"


@pytest.mark.parametrize("volatility", ["9" * 400, "NaN", "-Infinity"], ids=["400-digit-integer", "nan", "infinite"])
async def test_a_cursor_with_a_volatility_no_float_holds_is_refused(world, volatility):
    # Before, float() of a 400-digit integer raised OverflowError, a 500; NaN and infinities were taken as a position.
    raw = f'[true,{volatility},"a","EUR","x"]'
    assert len(json.loads(raw)) == 5  # json reads each of them: the refusal is the volatility's
    cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    with pytest.raises(InvalidInputError) as refused:
        await world.run(lambda tx: service.market_risk(tx, None, limit=3, cursor=cursor))
    assert refused.value.code == "invalid_cursor"


async def test_a_line_closed_with_nothing_received_on_an_open_order_is_not_flagged(world):
    # Before, a 25.00 line cancelled in full on an order still open (another line to come) was flagged "150.0%
    # above the median of the last 6 prices", though nothing will be bought at it.
    supplier = await world.supplier("REGULAR")
    issued = [datetime.combine(TODAY - timedelta(days=100 - 14 * k), time(9), UTC) for k in range(7)]
    for issued_at in issued[:6]:
        await _issued_order(world, supplier, issued_at, "10.00")
    issued_at = issued[6]
    async with world.pool.acquire() as conn:
        order = await insert(
            conn, "purchase_orders", tenant_id=world.tenant.id, supplier_id=supplier,
            warehouse_id=world.tenant.warehouses[0], currency="EUR", status="issued", issued_at=issued_at,
            created_at=issued_at,
        )  # fmt: skip
        await insert_many(
            conn,
            "purchase_order_lines",
            [
                {"tenant_id": world.tenant.id, "purchase_order_id": order, "line_no": n + 1,
                 "product_id": world.tenant.products[0], "quantity": 10, "uom": "each", "uom_factor": 1,
                 "quantity_base": 10, "unit_price": Decimal(price), "cancelled_base": cancelled}
                for n, (price, cancelled) in enumerate([("25.00", 10), ("10.00", 0)])
            ],
        )  # fmt: skip
    flags = (await world.run(lambda tx: service.market_risk(tx, None)))["price_flags"]
    assert [(f["number"], f["unit_price"], f["reason"]) for f in flags] == []
