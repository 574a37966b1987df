"""Which negative figures of the data back a shortfall of their size in one sentence ("40 short", "fell by 3.5";
``placed_figures``): those of the row the sentence names next to the shortfall. A row is a line of the context (a
tool lists one row a line), and it is named by its subject: the first code or tenant name its line states, and those
in the brackets right after it ("SKU-7 (Hex nut) at WH-1": SKU-7 and Hex nut, not WH-1, which names no row). A
shortfall belongs to the nearest subject before it in the sentence, else the nearest after it: "SKU-7 is 40 short
and SKU-9 is 4 short" is backed by SKU-7's -40 and SKU-9's -4, "SKU-9 is 40 short" and "WH-1 is 40 short" are not.
A size backs the sentence's shortfalls of that size only when each of them is so backed.

A sentence that states no code nor name ("It is 40 short") cannot be tied to a row: any row's negative figure of
that size backs it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from copilot.placed_figures import shortfalls


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
class ShortfallRows:
    """The sizes of the negative figures of the rows each subject (lower-cased) names, and of every row."""

    of_subject: dict[str, frozenset[str]] = field(default_factory=dict)
    sizes: frozenset[str] = frozenset()

    @classmethod
    def of(cls, texts: Iterable[str], read: Callable[[str], RowClaims]) -> ShortfallRows:
        of_subject: dict[str, frozenset[str]] = {}
        every: set[str] = set()  # a row that names none still backs a sentence that names none
        for line in (line for text in texts for line in text.splitlines()):
            claims = read(line)
            sizes = frozenset(n[1:] for n in claims.numbers if n.startswith("-"))
            every |= sizes
            identifiers = {code.lower() for code in claims.codes} | claims.names
            for subject in _subject(" ".join(line.lower().split()), identifiers):
                of_subject[subject] = of_subject.get(subject, frozenset()) | sizes
        return cls(of_subject, frozenset(every))

    def backed(self, sentence: str, stated: Iterable[str], value: Callable[[str], frozenset[str]]) -> frozenset[str]:
        """The sizes that back each shortfall of that size in ``sentence``, whose codes and names are ``stated``."""
        stated = [word.lower() for word in stated]
        if not stated:
            return self.sizes
        named = sorted((m.start(), s) for s in stated if s in self.of_subject for m in _whole(s).finditer(sentence))
        held: set[str] = set()
        unheld: set[str] = set()
        for start, figures in shortfalls(sentence, value):
            before = [subject for at, subject in named if at < start]
            after = [subject for at, subject in named if at > start]
            subject = before[-1] if before else after[0] if after else None
            (held if subject and figures <= self.of_subject[subject] else unheld).update(figures)
        return frozenset(held - unheld)
