"""Split sections into retrieval chunks that never cross a heading or a page."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from copilot.extraction import Section

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# Chinese and Japanese sentence ends (the ideographic full stop, full-width ! and ?) have no space after them.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[\u3002\uff01\uff1f])\s*")

Fits = Callable[[str], bool]


@dataclass(frozen=True)
class Chunk:
    ordinal: int
    content: str
    section: str | None
    page: int | None


@dataclass(frozen=True)
class _Unit:
    """Text no chunk boundary falls inside; ``continued`` when it is the rest of a run cut at a space."""

    text: str
    continued: bool = False


@dataclass(frozen=True)
class _Bound:
    """What one chunk's text may be: at most ``max_chars``, and with its heading ``prefix`` what ``fits`` takes."""

    max_chars: int
    prefix: str = ""
    fits: Fits | None = None

    def holds(self, text: str) -> bool:
        return len(text) <= self.max_chars and (self.fits is None or self.fits(self.prefix + text))


def chunk_sections(
    sections: list[Section], *, max_chars: int = 900, overlap_chars: int = 120, fits: Fits | None = None
) -> list[Chunk]:
    """Pack paragraphs (then sentences, then lines) into chunks of at most ``max_chars``, overlapping long runs.
    ``fits`` tells whether a chunk's content is all read by the embedding model (its window): the model ignores
    what lies past it, so a chunk is only as long as both bounds allow."""
    chunks: list[Chunk] = []
    for section in sections:
        # Composed (NFC), as questions are read (`retrieval.text_terms`): a PDF's or a Mac's decomposed "Würth" is
        # another lexeme to full-text search, which no question would match.
        heading = unicodedata.normalize("NFC", section.heading) if section.heading else None
        # The heading is repeated in the text so both the embedding and full-text search see it.
        prefix = f"{heading}\n" if heading else ""
        bound = _Bound(max_chars, prefix, fits)
        for piece in _pack(_units(unicodedata.normalize("NFC", section.text), bound), bound, overlap_chars):
            chunks.append(Chunk(len(chunks), prefix + piece, heading, section.page))
    return chunks


def _units(text: str, bound: _Bound) -> list[_Unit]:
    units: list[_Unit] = []
    for paragraph in _PARAGRAPH_BREAK.split(text):
        flat = " ".join(paragraph.split())
        if bound.holds(flat):
            units.extend([_Unit(flat)] if flat else [])
            continue
        # A long paragraph's sentences before its lines: a PDF page (and a hard-wrapped text) has a line per
        # printed line, so a cut at a line break ends a chunk mid-sentence. Only a 'sentence' longer than a chunk
        # goes by its lines: a table's rows (CSV, DOCX and PDF tables) have no sentence ends, and a row cut in
        # two puts its figures in two chunks.
        for sentence in _SENTENCE_END.split(paragraph):
            flat = " ".join(sentence.split())
            if bound.holds(flat):
                units.extend([_Unit(flat)] if flat else [])
                continue
            for line in sentence.splitlines():
                units.extend(_cut_at_spaces(" ".join(line.split()), bound))
    return units


def _cut_at_spaces(text: str, bound: _Bound) -> list[_Unit]:
    """A run longer than a chunk (a run-on row or sentence) in pieces that end at a space, so no word or figure
    is split; only a single word longer than a chunk (or a run of Chinese) is cut inside."""
    pieces: list[_Unit] = []
    while text and not bound.holds(text):
        cut = _longest_cut(text, bound)
        pieces.append(_Unit(text[:cut], continued=bool(pieces)))
        text = text[cut:].lstrip()
    if text:
        pieces.append(_Unit(text, continued=bool(pieces)))
    return pieces


def _longest_cut(text: str, bound: _Bound) -> int:
    """Where to end the longest start of ``text`` a chunk holds: at a space if any fits, else inside a word."""
    room = min(len(text), bound.max_chars)
    spaces = [i for i in range(1, room + 1) if i < len(text) and text[i] == " "]
    cut = _last_holding(spaces, text, bound) or _last_holding(range(1, room + 1), text, bound)
    return cut or 1  # where not even one character fits beside the heading, still go on


def _last_holding(cuts: Sequence[int], text: str, bound: _Bound) -> int | None:
    """The last of the ascending ``cuts`` whose start of ``text`` the bound holds (a binary search: a longer
    start of a text is never fewer tokens, bar a word cut inside, which only the fallback cut does)."""
    low, high, found = 0, len(cuts) - 1, None
    while low <= high:
        middle = (low + high) // 2
        if bound.holds(text[: cuts[middle]]):
            found, low = cuts[middle], middle + 1
        else:
            high = middle - 1
    return found


def _pack(units: list[_Unit], bound: _Bound, overlap_chars: int) -> list[str]:
    pieces: list[str] = []
    current = ""
    for unit in units:
        if current and not bound.holds(f"{current} {unit.text}"):
            pieces.append(current)
            # A continuation starts where the previous piece stopped: a tail before it would be read as its start.
            tail = current[-overlap_chars:] if overlap_chars and not unit.continued else ""
            tail = tail[tail.find(" ") + 1 :] if " " in tail else ""  # never a word's end alone
            current = f"{tail} {unit.text}" if tail and bound.holds(f"{tail} {unit.text}") else unit.text
        else:
            current = f"{current} {unit.text}" if current else unit.text
    if current:
        pieces.append(current)
    return pieces
