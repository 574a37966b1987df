"""What every copilot tool shares: the context it runs in, the result it returns, its declaration, the
intent-word matcher and the number formatting that goes verbatim into answers. The tools themselves live in
``copilot.tools_*`` and are registered, in order, by ``copilot.tools``."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

import asyncpg

from common.database import TenantTransaction
from copilot.mentions import MAX_MENTIONS, Mentions

MAX_ROWS = 10
# Appended where a list holds more rows than a tool quotes: ten lines must not read as "there are ten".
MORE_ROWS = f"(only the first {MAX_ROWS} are listed here; there are more)"
# The same where the tool lists the first ``shown`` of a ranking it counted ("the riskiest 5" of 8 suppliers).
MORE_OF = "(only the first {shown} are listed here; there are {total})"
# Appended where the rows were narrowed to what the question names and it names more products (suppliers, ...)
# than are looked up: the rows are the first ten's only. ``{kind}``: "products", "suppliers", ...
MORE_NAMED = f"(the question names more than {MAX_MENTIONS} {{kind}}; only the first {MAX_MENTIONS} are looked up here)"
RISKIEST = 5


@dataclass(frozen=True)
class ToolContext:
    tx: TenantTransaction
    question: str
    mentions: Mentions
    zone: tzinfo  # the member's: the dates they read are in it
    today: date  # in that zone

    def local_date(self, moment: datetime) -> date:
        """The date a stored instant fell on where the member is (a receipt at 20:00 in California is not the
        next day's, as its UTC date would say)."""
        return moment.astimezone(self.zone).date()

    @property
    def conn(self) -> asyncpg.Connection:
        return self.tx.conn

    @property
    def products(self) -> list[dict[str, Any]]:
        """Products of the caller's tenant that the question names."""
        return self.mentions.products

    def asks(self, words: tuple[str, ...]) -> bool:
        return matches(self.question, words)


@dataclass(frozen=True)
class ToolResult:
    name: str
    arguments: dict[str, Any]
    lines: list[str]  # human-readable figures, quoted verbatim in the answer
    data: list[dict[str, Any]] = field(default_factory=list)

    def as_call(self) -> dict[str, Any]:
        return {"tool": self.name, "arguments": self.arguments, "result": self.lines}


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    # Intent words, matched as whole words (a trailing "s" allowed); a trailing "*" matches any ending.
    keywords: tuple[str, ...]
    run: Callable[[ToolContext], Awaitable[ToolResult | None]]
    # Also run when the question names one of these kinds: product, supplier, purchase_order, shipment.
    mentions: frozenset[str] = frozenset()

    def asked(self, context: ToolContext, chosen: set[str] | None = None) -> bool:
        """Chosen by the classifier (``copilot.tool_choice``) or, without one, by intent words."""
        return self.name in chosen if chosen is not None else context.asks(self.keywords)


# A product or supplier named adds its tool (stock, risk) only when nothing else is asked for: "late POs from
# Wurth" wants the orders (filtered by Wurth), not Wurth's risk score. A PO or shipment number always adds its
# lookup.
WEAK_MENTIONS = frozenset({"product", "supplier"})
UNKNOWN_CODES = "no product, supplier, purchase order or shipment has the code named in the question"

# Words that narrow orders and shipments to the late or delayed ones.
LATE_WORDS = ("late", "overdue", "delay*", "behind", "past due", "stuck")


def matches(question: str, words: tuple[str, ...]) -> bool:
    lowered = question.lower()
    for word in words:
        pattern = rf"\b{re.escape(word[:-1])}" if word.endswith("*") else rf"\b{re.escape(word)}s?\b"
        if re.search(pattern, lowered):
            return True
    return False


def fmt(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)


def dock_date(row: dict[str, Any], readers_day: date) -> str:
    """Where lateness was counted on a warehouse's date other than the reader's, "it is 2026-12-07 at WH-0", so
    "expected 2026-12-05, 2 days late" read on the 6th says why; otherwise ""."""
    return "" if row["counted_on"] == readers_day else f"it is {row['counted_on']} at {row['warehouse_code']}"
