"""Tenant names in an answer. A name is a claim of its own, and the figures it holds ("Coke Zero", "Seven Seas",
"ASM-CTRL-BOX 500") are no figures of the data. A part of a name stated in the context backs itself written as in
the name: its codes and mixed tokens ("24V", "IE3", "3M", "USB-C", "0.75kW") anywhere, as codes; a figure or number
word of it ("RAL 7016", "XPZ 1250", "Seven Seas") only beside a word of the name next to it, never as a bare figure.
A name that is nothing but number words ("ONE", "Seven") is that name only in the case the data writes it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache

from copilot.spelled_numbers import read_spelled


@cache
def _spelled_figure(name: str) -> bool:
    return not read_spelled(name)[1].strip()


def names_stated(text: str, names: Iterable[str]) -> dict[str, re.RegexFlag]:
    """The ``names`` that ``text`` holds as whole words, each with the flags that find it: any case, but only as
    the data writes it for a name that is number words (the carrier "ONE", a supplier "Seven"), whose words in
    another case are figures or pronouns ("twenty-one units", "seven days", "one unit")."""
    lowered = text.lower()
    found = {}
    for name in filter(None, names):
        needle = name.lower()
        # A substring test first: a pattern per name (the re cache holds 512) took seconds a sentence in a tenant of
        # 50,000 products; the whole-word search then runs only for the few names the text holds.
        if needle not in lowered:
            continue
        if not _spelled_figure(needle):
            if re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", lowered):
                found[name] = re.IGNORECASE
        elif re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text):
            found[name] = re.NOFLAG
    return found


def name_parts(
    names: Iterable[str], stated: frozenset[str], numbers: Callable[[str], frozenset[str]]
) -> tuple[set[str], set[str]]:
    """Of the ``stated`` names (lower-cased): the words holding no figure, whose codes back themselves, and the
    phrases (lower-cased) of a word whose ``numbers`` are some figure with a neighbouring word of three or more
    characters holding a letter ("ral 7016", "seven seas"; not the "of 12" of "Box of 12")."""
    words_alone: set[str] = set()
    phrases: set[str] = set()
    for name in names:
        if not name or name.lower() not in stated:
            continue
        words = name.split()
        for i, word in enumerate(words):
            if not numbers(word):
                words_alone.add(word)
                continue
            for pair in (words[i - 1 : i + 1] if i else [], words[i : i + 2]):
                neighbour = "".join(w for w in pair if w != word)
                if len(pair) == 2 and len(neighbour) >= 3 and re.search("[A-Za-z]", neighbour):
                    phrases.add(" ".join(pair).lower())
    return words_alone, phrases
