"""Split sections into retrieval chunks that never cross a heading or a page."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property

from copilot.extraction import Section
from copilot.tokens import TokenWindow

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# Chinese and Japanese sentence ends (the ideographic full stop, full-width ! and ?) have no space after them.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[\u3002\uff01\uff1f])\s*")


@dataclass(frozen=True)
class Chunk:
    ordinal: int
    content: str
    section: str | None
    page: int | None


@dataclass(frozen=True)
class _Unit:
    """Text no chunk boundary falls inside, with the tokens it adds to a chunk (``_Bound.tokens``); ``continued``
    when it is the rest of a run cut at a space."""

    text: str
    tokens: int = 0
    continued: bool = False


@dataclass(frozen=True)
class _Piece:
    """A chunk's text, without its heading, and the summed tokens of the units packed into it."""

    text: str
    tokens: int

    def joined(self, other: _Piece) -> _Piece:
        return _Piece(f"{self.text} {other.text}", self.tokens + other.tokens)


@dataclass(frozen=True)
class _Bound:
    """What one chunk's text may be: at most ``max_chars``, and with its heading ``prefix`` all read in ``window``.
    A run of units is counted as the sum of their counts, each unit tokenized once (counting each candidate whole
    made packing quadratic in a chunk's units), unless ``whole``."""

    max_chars: int
    prefix: str = ""
    window: TokenWindow | None = None
    whole: bool = False

    @cached_property
    def _specials(self) -> int:
        return self.window.count("") if self.window else 0

    @cached_property
    def _room(self) -> int:
        """The tokens a chunk's text has beside its heading and the window's special tokens."""
        return self.window.size - self.window.count(self.prefix) if self.window else 0

    def tokens(self, text: str) -> int:
        """What ``text`` adds to a chunk's count (the special tokens are counted once a chunk); 0 where no sums
        are taken."""
        return self.window.count(text) - self._specials if self.window and not self.whole and text else 0

    def holds(self, text: str, tokens: int | None = None) -> bool:
        """Whether a chunk's text may be ``text``: counted whole, or as ``tokens``, the sum of its units'."""
        if len(text) > self.max_chars:
            return False
        if self.window is None:
            return True
        if tokens is None or self.whole:
            return self.window.count(self.prefix + text) <= self.window.size
        return tokens <= self._room

    def unit(self, text: str, *, continued: bool = False) -> _Unit | None:
        """``text`` as one unit, counted once; None where no chunk holds it."""
        if len(text) > self.max_chars:
            return None
        tokens = self.tokens(text)
        return _Unit(text, tokens, continued) if self.holds(text, tokens) else None


def chunk_sections(
    sections: list[Section], *, max_chars: int = 900, overlap_chars: int = 120, window: TokenWindow | None = None
) -> list[Chunk]:
    """Pack paragraphs (then sentences, then lines) into chunks of at most ``max_chars``, overlapping long runs.
    ``window`` is what the embedding model reads of a chunk's content: it ignores what lies past it, so a chunk is
    only as long as both bounds allow."""
    chunks: list[Chunk] = []
    for section in sections:
        # Composed (NFC), as questions are read (`retrieval.text_terms`): a PDF's or a Mac's decomposed "Würth" is
        # another lexeme to full-text search, which no question would match.
        heading = unicodedata.normalize("NFC", section.heading) if section.heading else None
        # The heading is repeated in the text so both the embedding and full-text search see it.
        prefix = f"{heading}\n" if heading else ""
        text = unicodedata.normalize("NFC", section.text)
        bound = _Bound(max_chars, prefix, window)
        pieces = _pack(_units(text, bound), bound, overlap_chars)
        if not _read_whole(pieces, bound):
            # The tokenizer read a join (the space, or the text either side of it) as more than the units' sum:
            # packed again counting each candidate whole, as slow as before but never past the window.
            whole = replace(bound, whole=True)
            pieces = _pack(_units(text, whole), whole, overlap_chars)
        for piece in pieces:
            chunks.append(Chunk(len(chunks), prefix + piece.text, heading, section.page))
    return chunks


def _read_whole(pieces: list[_Piece], bound: _Bound) -> bool:
    """Whether the window reads every chunk its summed count let in, by one true count of each. (A piece its sum
    already refuses is a character no chunk holds beside the heading, which goes on as before.)"""
    return all(not bound.holds(piece.text, piece.tokens) or bound.holds(piece.text) for piece in pieces)


def _units(text: str, bound: _Bound) -> list[_Unit]:
    units: list[_Unit] = []
    for paragraph in _PARAGRAPH_BREAK.split(text):
        flat = " ".join(paragraph.split())
        if (unit := bound.unit(flat)) is not None:
            units.extend([unit] if flat else [])
            continue
        # A long paragraph's sentences before its lines: a PDF page (and a hard-wrapped text) has a line per
        # printed line, so a cut at a line break ends a chunk mid-sentence. Only a 'sentence' longer than a chunk
        # goes by its lines: a table's rows (CSV, DOCX and PDF tables) have no sentence ends, and a row cut in
        # two puts its figures in two chunks.
        for sentence in _SENTENCE_END.split(paragraph):
            flat = " ".join(sentence.split())
            if (unit := bound.unit(flat)) is not None:
                units.extend([unit] if flat else [])
                continue
            for line in sentence.splitlines():
                units.extend(_cut_at_spaces(" ".join(line.split()), bound))
    return units


def _cut_at_spaces(text: str, bound: _Bound) -> list[_Unit]:
    """A run longer than a chunk (a run-on row or sentence) in pieces that end at a space, so no word or figure
    is split; only a single word longer than a chunk (or a run of Chinese) is cut inside."""
    pieces: list[_Unit] = []
    while text:
        piece = bound.unit(text, continued=bool(pieces)) or _longest_start(text, bound, continued=bool(pieces))
        pieces.append(piece)
        text = text[len(piece.text) :].lstrip()
    return pieces


def _longest_start(text: str, bound: _Bound, *, continued: bool) -> _Unit:
    """The longest start of ``text`` a chunk holds: ending at a space if any fits, else inside a word."""
    room = min(len(text), bound.max_chars)
    spaces = [i for i in range(1, room + 1) if i < len(text) and text[i] == " "]
    start = _last_holding(spaces, text, bound, continued) or _last_holding(range(1, room + 1), text, bound, continued)
    # Where not even one character fits beside the heading, still go on.
    return start or _Unit(text[:1], bound.tokens(text[:1]), continued)


def _last_holding(cuts: Sequence[int], text: str, bound: _Bound, continued: bool) -> _Unit | None:
    """The start of ``text`` up to the last of the ascending ``cuts`` that the bound holds (a binary search: a
    longer start of a text is never fewer tokens, bar a word cut inside, which only the fallback cut does)."""
    low, high, found = 0, len(cuts) - 1, None
    while low <= high:
        middle = (low + high) // 2
        if start := bound.unit(text[: cuts[middle]], continued=continued):
            found, low = start, middle + 1
        else:
            high = middle - 1
    return found


def _pack(units: list[_Unit], bound: _Bound, overlap_chars: int) -> list[_Piece]:
    pieces: list[_Piece] = []
    current: _Piece | None = None
    for unit in units:
        alone = _Piece(unit.text, unit.tokens)
        joined = current.joined(alone) if current else alone
        if current is None or bound.holds(joined.text, joined.tokens):
            current = joined
            continue
        pieces.append(current)
        # A continuation starts where the previous piece stopped: a tail before it would be read as its start.
        tail = current.text[-overlap_chars:] if overlap_chars and not unit.continued else ""
        tail = tail[tail.find(" ") + 1 :] if " " in tail else ""  # never a word's end alone
        overlapped = _Piece(tail, bound.tokens(tail)).joined(alone) if tail else None
        current = overlapped if overlapped and bound.holds(overlapped.text, overlapped.tokens) else alone
    if current:
        pieces.append(current)
    return pieces
