"""Which negative figures of the data may back a shortfall in one sentence ("12 short", "fell by 3.5";
``placed_figures``): those of the rows the sentence is about. A row is a line of the context (a tool lists one row a
line); a sentence is about it when every code and tenant name the sentence states is written in that line, as the
checker compares them, case-insensitively and as whole words. So SKU-7's -40 backs "SKU-7 at WH-1 is 40 short" but
not "SKU-8 at WH-1 is 40 short", though both rows are at WH-1.

A sentence that states no code nor name ("It is 40 short") cannot be tied to a row: any row's negative figure backs
it. One about two rows ("SKU-7 is 40 short and SKU-9 is 4 short") is about neither, and its shortfalls are backed
by none.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

# A figure with a sign (ASCII, U+2212 or the word): only such lines are read for negative figures.
_SIGNED = re.compile(r"[-\u2212]\s*\d|(?i:minus)\s+\d")


@dataclass(frozen=True)
class ShortfallRows:
    """The sizes of each row's negative figures, with the row's text lower-cased."""

    rows: tuple[tuple[frozenset[str], str], ...]

    @classmethod
    def of(cls, texts: Iterable[str], numbers: Callable[[str], frozenset[str]]) -> ShortfallRows:
        """The rows of ``texts`` whose ``numbers`` hold a negative figure."""
        rows = []
        for line in (line for text in texts for line in text.splitlines() if _SIGNED.search(line)):
            if sizes := frozenset(n[1:] for n in numbers(line) if n.startswith("-")):
                rows.append((sizes, " ".join(line.lower().split())))
        return cls(tuple(rows))

    @property
    def sizes(self) -> frozenset[str]:
        return frozenset(size for sizes, _ in self.rows for size in sizes)

    def sizes_about(self, stated: Iterable[str]) -> frozenset[str]:
        """The sizes of the rows that hold every one of ``stated``, the codes and names of a sentence."""
        patterns = [re.compile(rf"(?<![\w-]){re.escape(' '.join(s.lower().split()))}(?![\w-])") for s in stated]
        if not patterns:
            return self.sizes
        return frozenset(size for sizes, line in self.rows if all(p.search(line) for p in patterns) for size in sizes)
