"""The market-risk report over fetched rows: price statistics per product and currency, ranked and paged, and
flags on the open order lines of the page's series.

Plain CPU work over a price-history frame and open order lines (the service runs it off the event loop).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from common.errors import InvalidInputError
from risk import market

SeriesKey = tuple[Any, str]  # (product_id, currency)
SortKey = tuple[bool, float, str, str, str]


def lines_by_series(open_lines: Iterable[Mapping[str, Any]]) -> dict[SeriesKey, list[Mapping[str, Any]]]:
    """Open lines by (product, currency), in their order: each series then reads only its own lines, where a scan
    of every line per series grew with products times lines (minutes for 50,000 products)."""
    grouped: dict[SeriesKey, list[Mapping[str, Any]]] = defaultdict(list)
    for line in open_lines:
        grouped[(line["product_id"], line["currency"])].append(line)
    return grouped


def _sort_key(product: Mapping[str, Any]) -> SortKey:
    # Shocks first, then the most volatile; SKU, currency and id make the order total, so pages never overlap.
    return (
        not product["shock"],
        -(product["volatility"] or 0.0),
        product["sku"] or "",
        product["currency"],
        str(product["product_id"]),
    )


def encode_cursor(key: SortKey) -> str:
    raw = json.dumps(list(key), separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> SortKey:
    try:
        data = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
        if not isinstance(data, list) or len(data) != 5:
            raise ValueError("not a market-risk cursor")
        no_shock, volatility, sku, currency, product_id = data
        if not isinstance(no_shock, bool) or not isinstance(volatility, (int, float)) or isinstance(volatility, bool):
            raise ValueError("not a market-risk cursor")
        if not all(isinstance(text, str) for text in (sku, currency, product_id)):
            raise ValueError("not a market-risk cursor")
        # The report issues finite volatilities only; json reads NaN and Infinity, and float() of a 400-digit
        # integer overflows.
        if not math.isfinite(float(volatility)):
            raise ValueError("not a market-risk cursor")
        return no_shock, float(volatility), sku, currency, product_id
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidInputError(
            "invalid cursor: pass back the next_cursor of the previous page unchanged",
            code="invalid_cursor",
            details={"reason": str(exc)},
        ) from exc


def market_page(
    prices: pd.DataFrame,
    open_lines: Sequence[Mapping[str, Any]],
    *,
    limit: int | None = None,
    after: SortKey | None = None,
) -> dict[str, Any]:
    """Up to ``limit`` series (all without one) ranked after ``after``, with the flags on their open lines;
    ``total`` counts every series, ``next_cursor`` is ``None`` on the last page."""
    if prices.empty:
        return {"products": [], "price_flags": [], "total": 0, "next_cursor": None}
    series_by_key: dict[SeriesKey, pd.DataFrame] = {}
    products = []
    for (pid, currency), series in prices.groupby(["product_id", "currency"], sort=False):
        series_by_key[(pid, currency)] = series
        stats = market.price_statistics(series)
        products.append({"product_id": pid, "sku": series["sku"].iloc[0], "currency": currency, **stats})
    total = len(products)
    products.sort(key=_sort_key)
    if after is not None:
        products = [p for p in products if _sort_key(p) > after]
    page = products if limit is None else products[:limit]
    next_cursor = encode_cursor(_sort_key(page[-1])) if len(page) < len(products) else None
    on_page = {(p["product_id"], p["currency"]) for p in page}
    lines = lines_by_series(open_lines)
    flags = []
    for key, series in series_by_key.items():  # the price history's order, as before paging
        if key not in on_page:
            continue
        for line in lines.get(key, ()):
            # Prices known when it was ordered (a draft: today); a later fall must not flag it after the fact.
            before = series[series["observed_on"] < line["ordered_on"]]
            flag = market.flag_price(before, line["unit_price"])
            if flag is not None:
                flags.append({"line_id": line["id"], "number": line["number"], "status": line["status"],
                              "product_id": key[0], "currency": key[1], "unit_price": line["unit_price"],
                              **flag})  # fmt: skip
    return {"products": page, "price_flags": flags, "total": total, "next_cursor": next_cursor}
