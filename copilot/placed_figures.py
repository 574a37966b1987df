"""Figures of an answer backed by where they stand rather than by a figure of the data: a count of the rows the
turn found, before what it counts ("the two late orders", "5 sources", "2 late SKU-7 purchase orders"). A summary
counts what it was given, though no line states the count. And the size of a negative figure of the data next to a
word of shortfall or decrease: "12 short", "short by 12", "a deficit of 12" of an available -12, "fell by 3.5" of
a trend -3.5, "risk improved by 3.5"; never "12 available", "rose by 3.5" nor "11 available and falling" (only a
unit or word of quantity stands between), and not "below 12", a threshold.

Each occurrence is judged alone: of two orders listed, "2 late orders, each 2 days late" has its first 2 backed,
not its second. Rows are what a tool lists or a passage is, never a quantity: "2 days", "2 units", "2 items",
"2 parts", "2 lines" are figures the data must hold, though "1 stock line" counts the stock tool's rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# What a figure may carry glued without changing it ("12kg" is 12), and what it never counts rows in.
UNITS = frozenset(
    {"pcs", "pc", "ea", "units", "unit", "kg", "g", "mg", "t", "lb", "lbs", "oz", "l", "ml", "m", "cm", "mm", "km",
     "ft", "in", "d", "days", "day", "h", "hrs", "hr", "min", "s", "wk", "wks", "weeks"}
)  # fmt: skip
_ROWS = (r"orders?|POs?|shipments?|deliver(?:y|ies)|suppliers?|vendors?|products?|SKUs?|rows?|results?|records?"
         r"|entr(?:y|ies)|alerts?|proposals?|documents?|passages?|sources?|excerpts?|files?|warehouses?|locations?"
         r"|sites?|forecasts?|stock-outs?|stock\s+lines?|matches")  # fmt: skip
# A compound counts as its noun ("two late open purchase orders").
_COMPOUND = r"(?:purchase|sales|transfer|production|work)\s+"
# A figure, then up to two words that are no unit, then the rows: read at every word, overlapping.
_COUNTING = re.compile(
    rf"(?<![\w./-])(?=(\d[\d,]*|[A-Za-z]+(?:-[A-Za-z]+)?)\s+"
    rf"(?:(?!(?:{'|'.join(UNITS)}|weeks?|months?|hours?|years?|percent)\b)(?=[\w-]*[A-Za-z])[\w-]+\s+){{0,2}}"
    rf"(?i:(?:{_COMPOUND})?(?:{_ROWS}))(?![\w-]))"
)
_FIGURE = r"(\d[\d,]*(?:\.\d+)?|[A-Za-z]+(?:-[A-Za-z]+)?)(?![\w-]|[.,]\d)"
_DECREASE = (r"short(?:fall|age)?|deficit|negative|overdrawn|behind|less|fewer|lower|down|fell|fall(?:s|en|ing)?"
             r"|drop(?:s|ped|ping)?|decrease[sd]?|declin(?:e[sd]?|ing)|reduc(?:ed|tion)")  # fmt: skip
# "12 short", "12 units behind", "3.5 points lower", "12 each below zero": the figure, at most its unit or a word
# of quantity, then the word of shortfall; "11 available and falling", "11 units is below" state no shortfall.
_QUANTITY = rf"(?:%|(?:{'|'.join(UNITS)}|each|points?|pts|percent|hours?|weeks?|months?)\b)"
_SIZE_BEFORE = re.compile(rf"(?<![\w./-])(?={_FIGURE}\s*(?:{_QUANTITY}\s*)?(?<=\s)(?i:{_DECREASE}|below)\b)")
# "short by 12", "a deficit of 12", "down 3.5", and a risk that "improved by 3.5", the usual words for a falling
# risk score; "below 12" is a threshold, "fell to 3.5" a level.
_IMPROVED = r"(?<=risk\s)improved\s+by|(?<=risk\sscore\s)improved\s+by"
_SIZE_AFTER = re.compile(
    rf"\b(?i:{_DECREASE}|{_IMPROVED})\s+(?:(?i:by|of|about|around|roughly|nearly|almost|some|an?)\s+){{0,2}}"
    rf"(?<![\w./-]){_FIGURE}"
)


# From a figure of _SIZE_BEFORE to the end of its word of shortfall, which that lookahead leaves unmatched.
_FIGURE_THEN_SHORT = re.compile(rf"{_FIGURE}\s*(?:{_QUANTITY}\s*)?(?<=\s)(?i:{_DECREASE}|below)\b")


def shortfall_spans(text: str, value: Callable[[str], frozenset[str]]) -> list[tuple[int, int, frozenset[str]]]:
    """Where each phrase of shortfall ("40 short", "short by 40") starts and ends in ``text``, with its figure's
    ``value``: the span, not the figure alone, tells which shortfall a word beside it stands nearer."""
    spans = [(m.start(), m.end(), value(m.group(1))) for m in _SIZE_AFTER.finditer(text)]
    for m in _SIZE_BEFORE.finditer(text):
        phrase = _FIGURE_THEN_SHORT.match(text, m.start(1))
        spans.append((m.start(1), phrase.end() if phrase else m.end(1), value(m.group(1))))
    return spans


def blank_placed(
    text: str, counts: frozenset[str], sizes: frozenset[str], value: Callable[[str], frozenset[str]]
) -> str:
    """``text`` with each figure that counts rows and whose ``value`` is one of ``counts``, and each next to a word of
    shortfall whose ``value`` is one of ``sizes``, blanked so that it is no claim; other occurrences still are."""
    if not counts and not sizes:  # nothing could back a placed figure: read none
        return text
    spans = [m.span(1) for m in _COUNTING.finditer(text) if (figures := value(m.group(1))) and figures <= counts]
    spans += [
        m.span(1)
        for pattern in (_SIZE_BEFORE, _SIZE_AFTER)
        for m in pattern.finditer(text)
        if (figures := value(m.group(1))) and figures <= sizes
    ]
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text
