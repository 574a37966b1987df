"""The SuiteQL subset the fake NetSuite account answers (see ``tests.support.fakes.netsuite``): its tables'
columns, and a query evaluator over in-memory rows that refuses anything else with NetSuite's wording."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

# The columns each table has (SuiteQL names are case-insensitive; these are the lower-case ones).
SCHEMA: dict[str, set[str]] = {
    "location": {"id", "name", "fullname", "isinactive", "mainaddress", "lastmodifieddate"},
    "locationmainaddress": {"nkey", "country", "city", "zip"},
    "vendor": {"id", "entityid", "companyname", "email", "currency", "isinactive", "lastmodifieddate"},
    "item": {"id", "itemid", "displayname", "itemtype", "stockunit", "cost", "isinactive", "lastmodifieddate"},
    "unitstypeuom": {"internalid", "unitname", "abbreviation"},
    "inventorybalance": {"item", "location", "binnumber", "quantityonhand", "quantityavailable"},
    "currency": {"id", "symbol", "name"},
    "transaction": {
        "id",
        "tranid",
        "type",
        "entity",
        "status",
        "currency",
        "duedate",
        "trandate",
        "externalid",
        "memo",
        "lastmodifieddate",
    },
    "transactionline": {
        "id",
        "transaction",
        "linesequencenumber",
        "mainline",
        "item",
        "itemtype",
        "quantity",
        "rate",
        "units",
        "location",
        "quantityshiprecv",
        "isclosed",
        "createdfrom",
    },
}
# BUILTIN.DF(table.column): the referenced table, its key and the column shown.
DISPLAY = {
    ("item", "stockunit"): ("unitstypeuom", "internalid", "unitname"),
    ("transactionline", "units"): ("unitstypeuom", "internalid", "unitname"),
}
FORMATS = {"YYYY-MM-DD HH24:MI:SS": "%Y-%m-%d %H:%M:%S", "YYYY-MM-DD": "%Y-%m-%d"}

_QUERY = re.compile(
    r"^SELECT (?P<select>.+?) FROM (?P<table>\w+) (?P<alias>\w+)"
    r"(?P<joins>(?: LEFT JOIN \w+ \w+ ON \w+\.\w+ = \w+\.\w+)*)"
    r"(?: WHERE (?P<where>.+?))?(?: GROUP BY (?P<group>.+?))? ORDER BY (?P<order>.+)$",
    re.IGNORECASE | re.DOTALL,
)
_JOIN = re.compile(r"LEFT JOIN (\w+) (\w+) ON (\w+)\.(\w+) = (\w+)\.(\w+)", re.IGNORECASE)
_COLUMN = re.compile(r"^(\w+)\.(\w+)$")
_EXPR = re.compile(
    r"^(?:(?P<fn>BUILTIN\.DF|SUM|TO_CHAR)\()?(?P<ref>\w+\.\w+)(?:, '(?P<fmt>[^']*)')?\)?(?: AS (?P<as>\w+))?$",
    re.IGNORECASE,
)
_IN = re.compile(r"^(\w+\.\w+) IN \(((?:'[^']*'|\d+)(?:, (?:'[^']*'|\d+))*)\)$", re.IGNORECASE)
_NULL = re.compile(r"^(\w+\.\w+) IS NULL$", re.IGNORECASE)
_COMPARE = re.compile(r"^(\w+\.\w+) (=|>|<) (.+)$")
_TIMESTAMP = re.compile(r"^TO_TIMESTAMP\('([^']*)', '([^']*)'\)$", re.IGNORECASE)
_STRING = re.compile(r"^'((?:[^']|'')*)'$")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


class QueryError(Exception):
    pass


def _outside_quotes(text: str) -> Iterator[tuple[int, str, int]]:
    """Each character outside quotes, with its index and the parenthesis depth once it is read (a '(' is inside
    the group it opens, a ')' outside the one it closes)."""
    depth, quoted = 0, False
    for i, ch in enumerate(text):
        if ch == "'":
            quoted = not quoted
        elif not quoted:
            depth += (ch == "(") - (ch == ")")
            yield i, ch, depth


def _split(text: str, separator: str) -> list[str]:
    """Split on a separator outside parentheses and quotes."""
    parts, start = [], 0
    for i, _, depth in _outside_quotes(text):
        if depth == 0 and i >= start and text.startswith(separator, i):
            parts.append(text[start:i].strip())
            start = i + len(separator)
    parts.append(text[start:].strip())
    return parts


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, float):
        return format(Decimal(str(value)).normalize(), "f")
    return str(value)


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (2, "")
    if isinstance(value, datetime):
        return (0, value.timestamp())
    text = str(value)
    return (0, int(text)) if text.isdigit() else (1, text)


def run_query(tables: dict[str, list[dict[str, Any]]], query: str) -> list[dict[str, str]]:
    match = _QUERY.match(" ".join(query.split()))
    if match is None:
        raise QueryError("Search error occurred: the query is not understood by this fake.")
    aliases = {match["alias"]: match["table"].lower()}
    joins = _JOIN.findall(match["joins"] or "")
    for table, alias, *_ in joins:
        aliases[alias] = table.lower()
    for table in aliases.values():
        if table not in SCHEMA:
            raise QueryError(f"Search error occurred: Record '{table}' was not found.")

    def column(ref: str) -> tuple[str, str]:
        found = _COLUMN.match(ref)
        if found is None or found[1] not in aliases:
            raise QueryError(f"Search error occurred: Invalid or unsupported search: {ref}")
        alias, name = found[1], found[2].lower()
        if name not in SCHEMA[aliases[alias]]:
            raise QueryError(f"Search error occurred: Field '{name}' for record '{aliases[alias]}' was not found.")
        return alias, name

    # FROM + LEFT JOINs
    contexts: list[dict[str, dict[str, Any] | None]] = [
        {match["alias"]: row} for row in tables[aliases[match["alias"]]]
    ]
    for table, alias, left_alias, left_col, right_alias, right_col in joins:
        if alias == left_alias:
            left_alias, left_col, right_alias, right_col = right_alias, right_col, left_alias, left_col
        column(f"{left_alias}.{left_col}")
        column(f"{right_alias}.{right_col}")
        for ctx in contexts:
            value = (ctx.get(left_alias) or {}).get(left_col.lower())
            ctx[alias] = next((r for r in tables[table.lower()] if r.get(right_col.lower()) == value), None)

    # WHERE
    for condition in _split(match["where"] or "", " AND ") if match["where"] else []:
        holds = _condition(condition, column)
        contexts = [ctx for ctx in contexts if holds(ctx)]

    # SELECT items
    items = []
    for item in _split(match["select"], ","):
        expr = _EXPR.match(item)
        if expr is None:
            raise QueryError(f"Search error occurred: Invalid or unsupported search: {item}")
        alias, name = column(expr["ref"])
        fn = (expr["fn"] or "").upper()
        if fn == "TO_CHAR" and expr["fmt"] not in FORMATS:
            raise QueryError(f"Search error occurred: invalid date format {expr['fmt']!r}")
        if fn == "BUILTIN.DF" and (aliases[alias], name) not in DISPLAY:
            raise QueryError(f"Search error occurred: {item} has no display value here")
        items.append((fn, alias, name, expr["fmt"], (expr["as"] or name).lower()))

    def value(ctx: dict[str, Any], fn: str, alias: str, name: str, fmt: str | None) -> Any:
        raw = (ctx.get(alias) or {}).get(name)
        if raw is None:
            return None
        if fn == "TO_CHAR":
            return raw.strftime(FORMATS[fmt or ""])
        if fn == "BUILTIN.DF":
            table, key, shown = DISPLAY[(aliases[alias], name)]
            target = next((r for r in tables[table] if r.get(key) == raw), None)
            return target.get(shown) if target else None
        return raw

    # GROUP BY with SUM
    if match["group"]:
        keys = [column(ref.strip()) for ref in match["group"].split(",")]
        groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for ctx in contexts:
            groups.setdefault(tuple((ctx.get(a) or {}).get(n) for a, n in keys), []).append(ctx)
        out = []
        for members in groups.values():
            row: dict[str, Any] = {}
            for fn, alias, name, fmt, label in items:
                if fn == "SUM":
                    row[label] = sum(Decimal(str(value(c, "", alias, name, None) or 0)) for c in members)
                elif (alias, name) in keys:
                    row[label] = value(members[0], fn, alias, name, fmt)
                else:
                    raise QueryError(f"Search error occurred: {alias}.{name} is not a GROUP BY expression")
            row["__ctx"] = members[0]
            out.append(row)
    else:
        if any(fn == "SUM" for fn, *_ in items):
            raise QueryError("Search error occurred: SUM without GROUP BY")
        out = [
            {**{label: value(ctx, fn, a, n, fmt) for fn, a, n, fmt, label in items}, "__ctx": ctx} for ctx in contexts
        ]

    # ORDER BY (on the underlying columns)
    order = [column(ref.strip()) for ref in match["order"].split(",")]
    for alias, name in reversed(order):
        out.sort(key=lambda r, a=alias, n=name: _sort_key((r["__ctx"].get(a) or {}).get(n)))
    return [{k: t for k, v in r.items() if k != "__ctx" and (t := _text(v)) is not None} for r in out]


def _condition(condition: str, column: Any) -> Callable[[dict[str, Any]], bool]:
    """A condition as SQL reads it, as a test of one row: OR of ANDs, parentheses, ``IN``, ``IS NULL`` and
    ``=``/``>``/``<`` against a string, a number or ``TO_TIMESTAMP``; a comparison with a null column holds for no
    row."""
    condition = condition.strip()
    if _enclosed(condition):
        return _condition(condition[1:-1], column)
    if len(either := _split(condition, " OR ")) > 1:
        any_of = [_condition(part, column) for part in either]
        return lambda ctx: any(test(ctx) for test in any_of)
    if len(both := _split(condition, " AND ")) > 1:
        all_of = [_condition(part, column) for part in both]
        return lambda ctx: all(test(ctx) for test in all_of)
    inside = _IN.match(condition)
    if inside:
        alias, name = column(inside[1])
        values = {v.strip().strip("'") for v in inside[2].split(",")}
        return lambda ctx: _text((ctx.get(alias) or {}).get(name)) in values
    null = _NULL.match(condition)
    if null:
        alias, name = column(null[1])
        return lambda ctx: (ctx.get(alias) or {}).get(name) is None
    compare = _COMPARE.match(condition)
    if compare is None:
        raise QueryError(f"Search error occurred: Invalid or unsupported search condition: {condition}")
    alias, name = column(compare[1])
    wanted, op = _literal(compare[3]), compare[2]

    def holds(ctx: dict[str, Any]) -> bool:
        raw = (ctx.get(alias) or {}).get(name)
        if raw is None:
            return False
        have: Any = raw if isinstance(wanted, datetime) else _text(raw)
        if isinstance(wanted, Decimal):
            if not _NUMBER.match(have):
                raise QueryError(f"Search error occurred: {compare[1]} is not a number")
            have = Decimal(have)
        elif isinstance(wanted, datetime) and not isinstance(have, datetime):
            raise QueryError(f"Search error occurred: {compare[1]} is not a date")
        return bool(have == wanted if op == "=" else have > wanted if op == ">" else have < wanted)

    return holds


def _enclosed(text: str) -> bool:
    """Whether the whole text is one parenthesised group."""
    if not text.startswith("("):
        return False
    for i, ch, depth in _outside_quotes(text):
        if ch == ")" and depth == 0:
            return i == len(text) - 1
    return False


def _literal(text: str) -> Any:
    """A literal right of a comparison: a string, a number or TO_TIMESTAMP('...', 'format')."""
    stamp = _TIMESTAMP.match(text)
    if stamp:
        if stamp[2] not in FORMATS:
            raise QueryError(f"Search error occurred: invalid date format {stamp[2]!r}")
        try:
            return datetime.strptime(stamp[1], FORMATS[stamp[2]])
        except ValueError as exc:
            raise QueryError(f"Search error occurred: {exc}") from exc
    string = _STRING.match(text)
    if string:
        return string[1].replace("''", "'")
    if _NUMBER.match(text):
        return Decimal(text)
    raise QueryError(f"Search error occurred: Invalid or unsupported search: {text}")
