"""What a question names: products, suppliers, purchase orders and shipments of the caller's tenant.

Matching is deterministic and runs under row-level security: a name is mentioned when it appears as a whole
word (case-insensitive), so ``SKU-1`` is not found in ``SKU-10``. Products match by SKU or name; suppliers by
code, name, or name without its legal form ("Acme Fasteners" for "Acme Fasteners Ltd"); purchase orders and
shipments by number ("PO-000123", also written "PO 123" or "po#123") or, for shipments, tracking number.
A deactivated product, supplier or warehouse still holds stock, orders and history, so its code or SKU written
as stored finds it (case-sensitive: "valve" is a word, or an active product's name, not retired SKU "VALVE"); by
name only active ones match, as a report includes a deactivated record only when named by id: a retired
catalogue's names ("Valve", "Box") must not narrow questions to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import asyncpg

MAX_MENTIONS = 10
MAX_TOKENS = 200

_TOKEN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_./-]*[A-Za-z0-9])?")
# Document numbers as people write them ("PO 12", "po#12", "PO-000012"), by prefix.
NUMBERED = {"PO": re.compile(r"\bPO[\s#-]*(\d{1,9})\b", re.IGNORECASE),
             "SH": re.compile(r"\bSH[\s#-]*(\d{1,9})\b", re.IGNORECASE)}  # fmt: skip
# A code as we write them: 2-6 capitals, a dash, then capitals/digits (SKU, supplier, PO, shipment codes).
CODE = re.compile(r"(?<![\w-])[A-Z]{2,6}-[A-Z0-9][A-Z0-9-]*(?![\w-])")
_LEGAL_FORM = re.compile(
    r"[\s,]+(?:ltd|limited|inc|llc|gmbh|ag|sa|s\.a|bv|b\.v|nv|plc|co|corp|corporation|company|srl|spa|oy|ab|kg)\.?$",
    re.IGNORECASE,
)
# What Python's \s matches, which includes no-break spaces PostgreSQL's \s does not: 0139 writes each as a space in
# ``app.suppliers.name_key`` and takes ``_LEGAL_FORM`` off, so both must read the same characters as spaces.
_SPACE = re.compile(r"\s")
# What names a row: names matched as ``names_in`` does, and names matched only as written.
_Names = tuple[tuple[str, ...], tuple[str, ...]]


class _Named(NamedTuple):
    rows: list[dict[str, Any]]  # the rows named, less those found only inside a longer name of another
    spans: set[tuple[int, int]]  # (start, end) of every name the question holds of any row, named or not


@dataclass(frozen=True)
class Mentions:
    products: list[dict[str, Any]] = field(default_factory=list)
    suppliers: list[dict[str, Any]] = field(default_factory=list)
    purchase_orders: list[dict[str, Any]] = field(default_factory=list)
    shipments: list[dict[str, Any]] = field(default_factory=list)
    # Codes written like ours (upper case, a dash: "XYZ-0001", "SUP-ACME") that name nothing the caller can see.
    unknown_codes: list[str] = field(default_factory=list)
    # Warehouses named by code or name ("WH-1"): where to look, not a subject of their own.
    warehouses: list[dict[str, Any]] = field(default_factory=list)
    # Kinds (as ``named`` keys them) the question names more than MAX_MENTIONS of: only the first are listed.
    truncated: frozenset[str] = frozenset()

    def named(self) -> dict[str, list[dict[str, Any]]]:
        """The rows named, by kind: ``product``, ``supplier``, ``purchase_order``, ``shipment``, ``warehouse``."""
        return {
            "product": self.products,
            "supplier": self.suppliers,
            "purchase_order": self.purchase_orders,
            "shipment": self.shipments,
            "warehouse": self.warehouses,
        }

    def kinds(self) -> set[str]:
        """``product``, ``supplier``, ``purchase_order``, ``shipment``: the kinds named at least once."""
        return {kind for kind, found in self.named().items() if found and kind != "warehouse"}


async def find_mentions(conn: asyncpg.Connection, question: str) -> Mentions:
    """What ``question`` names, the first MAX_MENTIONS of each kind (``truncated`` says where there were more)."""
    numbers = candidate_numbers(question)
    products, suppliers = await mentioned_products(conn, question), await mentioned_suppliers(conn, question)
    warehouses = await mentioned_warehouses(conn, question)
    found = Mentions(
        products=products.rows,
        suppliers=suppliers.rows,
        purchase_orders=await _by_number(
            conn, "SELECT id, number FROM app.purchase_orders WHERE number = ANY($1::text[])", numbers
        ),
        shipments=await _by_number(
            conn,
            "SELECT id, number, tracking_number FROM app.shipments "
            "WHERE number = ANY($1::text[]) OR tracking_number = ANY($1::text[])",
            numbers,
        ),
        warehouses=warehouses.rows,
    )
    # Every match, not only the first MAX_MENTIONS kept: an eleventh SKU named is not a code that names nothing.
    keys = {"product": ("sku",), "supplier": ("code",), "purchase_order": ("number",),
            "shipment": ("number", "tracking_number"), "warehouse": ("code",)}  # fmt: skip
    named = found.named()
    known = {
        str(value).upper()
        for kind, rows in named.items()
        for row in rows
        for value in (row.get(key) for key in keys[kind])
        if value
    }
    # Nor is a code inside a name the question holds, longest or not: in "Adapter for PUMP-200" SKU PUMP-200 names
    # a product, though the adapter is the one meant (and XYZ-9 in "Adapter for XYZ-9" is part of that name).
    in_names = products.spans | suppliers.spans | warehouses.spans
    written = (
        c.group() for c in CODE.finditer(question) if not any(s <= c.start() and c.end() <= e for s, e in in_names)
    )
    unknown = [c for c in dict.fromkeys(written) if c not in known and _padded(c) not in known]
    first = {kind: rows[:MAX_MENTIONS] for kind, rows in named.items()}
    truncated = frozenset(kind for kind, rows in named.items() if len(rows) > MAX_MENTIONS)
    return Mentions(
        first["product"], first["supplier"], first["purchase_order"], first["shipment"], unknown,
        first["warehouse"], truncated,
    )  # fmt: skip


def _padded(code: str) -> str:
    """``PO-12`` as stored (``PO-000012``); other codes as written."""
    for prefix, pattern in NUMBERED.items():
        if match := pattern.fullmatch(code):
            return f"{prefix}-{int(match.group(1)):06d}"
    return code


def names_in(text: str, names: Iterable[str | None]) -> bool:
    """Whether any of ``names`` appears in ``text`` as a whole word or phrase: case-insensitive, except that
    names of up to 3 characters (codes like "AB") must match exactly, so the word "a" is not supplier "A"."""
    return bool(_spans(text, names))


def _spans(text: str, names: Iterable[str | None], *, as_written: bool = False) -> set[tuple[int, int]]:
    """Where in ``text`` any of ``names`` appears, as ``names_in`` matches them (``as_written``: case-sensitive
    whatever their length): (start, end) of each."""
    found: set[tuple[int, int]] = set()
    for name in names:
        if name:
            flags = 0 if as_written or len(name) <= 3 else re.IGNORECASE
            found.update(m.span() for m in re.finditer(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text, flags))
    return found


def _longest(text: str, rows: list[asyncpg.Record], names_of: Callable[[asyncpg.Record], _Names]) -> _Named:
    """The ``rows`` named in ``text``, in their order, less those found only inside a longer name of another:
    "Bolt M8 Zinc" names that product, not also "Bolt M8"; "Acme Industrial", not also "Acme". With them, where
    ``text`` holds a name of any of ``rows``."""
    spans = [_spans(text, loose) | _spans(text, exact, as_written=True) for loose, exact in map(names_of, rows)]
    every = [(start, end, n) for n, found in enumerate(spans) for start, end in found]

    def inside_longer(n: int, start: int, end: int) -> bool:
        return any(m != n and s <= start and end <= e and e - s > end - start for s, e, m in every)

    kept = [_row(row) for n, row in enumerate(rows) if any(not inside_longer(n, *span) for span in spans[n])]
    return _Named(kept, {(start, end) for start, end, _ in every})


def candidate_numbers(question: str) -> list[str]:
    """Tokens that may be document numbers, as written and upper-cased, plus "PO 12" -> "PO-000012"."""
    tokens = _TOKEN.findall(question)[:MAX_TOKENS]
    found = dict.fromkeys([*tokens, *(t.upper() for t in tokens)])
    for prefix, pattern in NUMBERED.items():
        for digits in pattern.findall(question):
            found[f"{prefix}-{int(digits):06d}"] = None
    return list(found)


def without_legal_form(name: str) -> str:
    # Trimmed first: "$" also matches before a final line break, which 0139's key (spaces trimmed first) cannot tell.
    return _LEGAL_FORM.sub("", name.strip()).strip()


async def mentioned_products(conn: asyncpg.Connection, question: str) -> _Named:
    """Products (visible to the caller) whose SKU, or active ones whose name, the question names."""
    # SKUs the question holds first: products whose names it also holds ("valve") must not push them past the limit.
    rows = await conn.fetch(
        """SELECT id, sku, name, active FROM app.products
           WHERE strpos(lower($1), lower(sku)) > 0 OR (active AND strpos(lower($1), lower(name)) > 0)
           ORDER BY strpos(lower($1), lower(sku)) > 0 DESC, length(name) DESC, sku LIMIT 50""",
        question,
    )
    return _longest(question, rows, lambda r: _named_by(r, "sku", r["name"]))


async def mentioned_warehouses(conn: asyncpg.Connection, question: str) -> _Named:
    """Warehouses whose code, or active ones whose name, the question names."""
    rows = await conn.fetch(
        """SELECT id, code, name, active FROM app.warehouses
           WHERE strpos(lower($1), lower(code)) > 0 OR (active AND strpos(lower($1), lower(name)) > 0)
           ORDER BY code LIMIT 50""",
        question,
    )
    return _longest(question, rows, lambda r: _named_by(r, "code", r["name"]))


async def mentioned_suppliers(conn: asyncpg.Connection, question: str) -> _Named:
    """Suppliers whose code, or active ones whose name or name without its legal form, the question names."""
    # Candidates hold what the check below looks for: the code, the name, or ``name_key`` (0139: the name without
    # its legal form, spaces as ``_SPACE`` writes them, lower case), so suppliers sharing a first word ("The ...")
    # cannot push out the one named; codes the question holds come first.
    rows = await conn.fetch(
        """SELECT id, code, name, active FROM app.suppliers
           WHERE strpos(lower($1), lower(code)) > 0
                 OR (active AND (strpos(lower($1), lower(name)) > 0 OR strpos(lower($2), name_key) > 0))
           ORDER BY strpos(lower($1), lower(code)) > 0 DESC, length(name) DESC, code LIMIT 50""",
        question,
        _SPACE.sub(" ", question),
    )
    return _longest(question, rows, lambda r: _named_by(r, "code", r["name"], without_legal_form(r["name"])))


def _named_by(row: asyncpg.Record, code: str, *names: str) -> _Names:
    """What names ``row``: its ``code`` column and ``names`` while it is active; its ``code`` only as written while
    it is not, since "valve" or "Acme" in a question may be an active record's name or a plain word."""
    return ((row[code], *names), ()) if row["active"] else ((), (row[code],))


def _row(row: asyncpg.Record) -> dict[str, Any]:
    """A mention as the tools read it: without the ``active`` flag the match needed."""
    return {key: value for key, value in row.items() if key != "active"}


async def _by_number(conn: asyncpg.Connection, sql: str, numbers: list[str]) -> list[dict[str, Any]]:
    if not numbers:
        return []
    return [dict(r) for r in await conn.fetch(sql, numbers)]
