"""The SuiteQL subset the fake NetSuite account answers (see ``tests.support.fakes.netsuite``): its tables'
columns, and a query evaluator over in-memory rows that refuses anything else with NetSuite's wording."""

from __future__ import annotations

import re
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
_EQ = re.compile(r"^(\w+\.\w+) = (?:'((?:[^']|'')*)'|(\d+))$")
_IN = re.compile(r"^(\w+\.\w+) IN \(((?:'[^']*'|\d+)(?:, (?:'[^']*'|\d+))*)\)$", re.IGNORECASE)
_KEYSET = re.compile(
    r"^\((\w+)\.lastmodifieddate > TO_TIMESTAMP\('([^']*)', '([^']*)'\) OR \(\1\.lastmodifieddate = "
    r"TO_TIMESTAMP\('\2', '\3'\) AND \1\.id > (\d+)\)\)$",
    re.IGNORECASE,
)


class QueryError(Exception):
    pass


def _split(text: str, separator: str) -> list[str]:
    """Split on a separator outside parentheses and quotes."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and depth == 0 and text.startswith(separator, i):
            parts.append(text[start:i].strip())
            i += len(separator)
            start = i
            continue
        i += 1
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
        contexts = [ctx for ctx in contexts if _test(condition, ctx, column)]

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


def _test(condition: str, ctx: dict[str, Any], column: Any) -> bool:
    keyset = _KEYSET.match(condition)
    if keyset:
        alias = keyset[1]
        column(f"{alias}.lastmodifieddate")
        if keyset[3] not in FORMATS:
            raise QueryError(f"Search error occurred: invalid date format {keyset[3]!r}")
        try:
            since = datetime.strptime(keyset[2], FORMATS[keyset[3]])
        except ValueError as exc:
            raise QueryError(f"Search error occurred: {exc}") from exc
        row = ctx.get(alias) or {}
        stamp = row.get("lastmodifieddate")
        return stamp is not None and (stamp > since or (stamp == since and int(row["id"]) > int(keyset[4])))
    eq = _EQ.match(condition)
    if eq:
        alias, name = column(eq[1])
        wanted = eq[2].replace("''", "'") if eq[2] is not None else eq[3]
        return _text((ctx.get(alias) or {}).get(name)) == wanted
    inside = _IN.match(condition)
    if inside:
        alias, name = column(inside[1])
        values = {v.strip().strip("'") for v in inside[2].split(",")}
        return _text((ctx.get(alias) or {}).get(name)) in values
    raise QueryError(f"Search error occurred: Invalid or unsupported search condition: {condition}")
