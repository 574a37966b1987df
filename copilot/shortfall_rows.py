"""Which negative figures of the data back a shortfall of their size in one sentence ("40 short", "fell by 3.5";
``placed_figures``): those of the row the sentence names next to the shortfall. A row is a line of the context (a
tool lists one row a line), and it is named by its subject: the first code or tenant name its line states, and those
in the brackets right after it ("SKU-7 (Hex nut) at WH-1": SKU-7 and Hex nut, not WH-1, which names no row). A
shortfall belongs to the nearest subject before it in the sentence, else the nearest after it: "SKU-7 is 40 short
and SKU-9 is 4 short" is backed by SKU-7's -40 and SKU-9's -4, "SKU-9 is 40 short" and "WH-1 is 40 short" are not.
A size backs the sentence's shortfalls of that size only when each of them is so backed.

A line is also split at ";", and the first code of each part is a subject too, of that part's negative figures: the
suggestion "Expedite PO-000555 ...: expected ...; SKU-5 at WH-2 runs out ...: available -5" backs "SKU-5 is 5 short".
Each part keeps every code and name of its whole line. A code or name that the sentence states in the clause of
this shortfall (split at ";", ", " and " and ") when it is that clause's only one, else nearer this shortfall than
any other (by the characters between; on a tie, the one it follows), and that some of the subject's negative
rows hold and some not narrows the shortfall to the rows that hold it, so "40 short at WH-1 and 4 short at WH-2"
takes WH-1 for the 40 and WH-2 for the 4: "SKU-7 at WH-2 is 40 short" needs SKU-7's row at WH-2 to
state -40, while "Acme Fasteners", which no row of SKU-7 holds, and "Hex nut", which all do, narrow nothing.

A sentence that states no code nor name ("It is 40 short") cannot be tied to a row: any row's negative figure of
that size backs it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from copilot.placed_figures import shortfall_spans


class RowClaims(Protocol):
    """What a line states (``grounding.Claims``): its figures, codes and names (lower-cased)."""

    @property
    def numbers(self) -> frozenset[str]: ...
    @property
    def codes(self) -> frozenset[str]: ...
    @property
    def names(self) -> frozenset[str]: ...


def _whole(word: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(word)}(?![\w-])", re.IGNORECASE)


def _subject(line: str, identifiers: Iterable[str]) -> set[str]:
    """The identifiers of ``line`` (lower-cased) that name its row: the first, and those in brackets right after it."""
    found = sorted((m.start(), m.end(), word) for word in identifiers if (m := _whole(word).search(line)))
    if not found:
        return set()
    _, end, first = found[0]
    brackets = re.match(r"\s*\(([^)]*)\)", line[end:])
    inside = range(end + brackets.start(1), end + brackets.end(1) + 1) if brackets else range(0)
    return {first, *(word for start, stop, word in found if start in inside and stop in inside)}


@dataclass(frozen=True)
class Row:
    """One part of a line: every code and name of its line (lower-cased), and the sizes of that part's negatives."""

    holds: frozenset[str]
    sizes: frozenset[str]


@dataclass(frozen=True)
class ShortfallRows:
    """The rows each subject (lower-cased) names, and the sizes of the negative figures of every row."""

    of_subject: dict[str, tuple[Row, ...]] = field(default_factory=dict)
    sizes: frozenset[str] = frozenset()

    @classmethod
    def of(cls, texts: Iterable[str], read: Callable[[str], RowClaims]) -> ShortfallRows:
        of_subject: dict[str, tuple[Row, ...]] = {}
        every: set[str] = set()  # a row that names none still backs a sentence that names none
        for line in (line for text in texts for line in text.splitlines()):
            claims = read(line)
            identifiers = {code.lower() for code in claims.codes} | claims.names
            flat = " ".join(line.lower().split())
            holds = frozenset(word for word in identifiers if _whole(word).search(flat))
            line_subject = _subject(flat, identifiers)
            for part in line.split(";"):
                sizes = frozenset(n[1:] for n in read(part).numbers if n.startswith("-"))
                every |= sizes
                for subject in line_subject | _subject(" ".join(part.lower().split()), identifiers):
                    of_subject[subject] = (*of_subject.get(subject, ()), Row(holds, sizes))
        return cls(of_subject, frozenset(every))

    def backed(self, sentence: str, stated: Iterable[str], value: Callable[[str], frozenset[str]]) -> frozenset[str]:
        """The sizes that back each shortfall of that size in ``sentence``, whose codes and names are ``stated``."""
        stated = [word.lower() for word in stated]
        if not stated:
            return self.sizes
        found = sorted((m.start(), s) for s in stated for m in _whole(s).finditer(sentence))
        named = [(at, word) for at, word in found if word in self.of_subject]
        held: set[str] = set()
        unheld: set[str] = set()
        places = sorted((start, end, figures) for start, end, figures in shortfall_spans(sentence, value) if figures)
        nearest = {at: _tied(at, at + len(word), places, sentence) for at, word in found}
        for i, (start, _, figures) in enumerate(places):
            before = [subject for at, subject in named if at < start]
            after = [subject for at, subject in named if at > start]
            subject = before[-1] if before else after[0] if after else None
            rows = self.of_subject[subject] if subject else ()
            negative = [row.holds for row in rows if row.sizes]
            # a word every such row holds (the subject, its name) narrows nothing
            known = frozenset().union(*negative) - frozenset.intersection(*negative) if negative else frozenset()
            narrowing = {word for at, word in found if nearest[at] == i and word in known}
            backing = any(figures <= row.sizes and narrowing <= row.holds for row in rows)
            (held if backing else unheld).update(figures)
        return frozenset(held - unheld)


# Where a clause ends: "WH-1 is 40 short, WH-2 is 4 short" ("1,200" keeps its comma: no space follows it).
_CLAUSE_END = re.compile(r";|,\s|\s+and\s+", re.IGNORECASE)


def _tied(start: int, end: int, places: list[tuple[int, int, frozenset[str]]], sentence: str) -> int:
    """The index of the shortfall in ``places`` that the word at ``start``-``end`` narrows: the only one of its
    clause, since "at WH-2, SKU-7 is 4 short; at WH-1 it is 40 short" puts WH-1 nearer the 4 than its own 40;
    else, where its clause has none or several, the nearest."""
    cut = [0, *(m.end() for m in _CLAUSE_END.finditer(sentence)), len(sentence) + 1]
    low = max(at for at in cut if at <= start)
    high = min(at for at in cut if at > start)
    own = [i for i, (at, stop, _) in enumerate(places) if low <= at and stop <= high]
    return own[0] if len(own) == 1 else _nearest(start, end, places)


def _nearest(start: int, end: int, places: list[tuple[int, int, frozenset[str]]]) -> int:
    """The index of the shortfall in ``places`` nearest to the word at ``start``-``end``, by the characters between;
    on a tie the one the word follows, which a trailing "at WH-1" completes."""
    gaps = [(max(at - end, start - stop, 0), at > start, i) for i, (at, stop, _) in enumerate(places)]
    return min(gaps)[2] if gaps else -1
