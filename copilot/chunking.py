"""Split sections into retrieval chunks that never cross a heading or a page."""

from __future__ import annotations

import re
from dataclasses import dataclass

from copilot.extraction import Section

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


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


def chunk_sections(sections: list[Section], *, max_chars: int = 900, overlap_chars: int = 120) -> list[Chunk]:
    """Pack paragraphs (then sentences, then lines) into chunks of at most ``max_chars``, overlapping long runs."""
    chunks: list[Chunk] = []
    for section in sections:
        for piece in _pack(_units(section.text, max_chars), max_chars, overlap_chars):
            # The heading is repeated in the text so both the embedding and full-text search see it.
            content = f"{section.heading}\n{piece}" if section.heading else piece
            chunks.append(Chunk(len(chunks), content, section.heading, section.page))
    return chunks


def _units(text: str, max_chars: int) -> list[_Unit]:
    units: list[_Unit] = []
    for paragraph in _PARAGRAPH_BREAK.split(text):
        flat = " ".join(paragraph.split())
        if len(flat) <= max_chars:
            units.extend([_Unit(flat)] if flat else [])
            continue
        # A long paragraph's sentences before its lines: a PDF page (and a hard-wrapped text) has a line per
        # printed line, so a cut at a line break ends a chunk mid-sentence. Only a 'sentence' longer than a chunk
        # goes by its lines: a table's rows (CSV, DOCX and PDF tables) have no sentence ends, and a row cut in
        # two puts its figures in two chunks.
        for sentence in _SENTENCE_END.split(paragraph):
            flat = " ".join(sentence.split())
            if len(flat) <= max_chars:
                units.extend([_Unit(flat)] if flat else [])
                continue
            for line in sentence.splitlines():
                units.extend(_cut_at_spaces(" ".join(line.split()), max_chars))
    return units


def _cut_at_spaces(text: str, max_chars: int) -> list[_Unit]:
    """A run longer than a chunk (a run-on row or sentence) in pieces that end at a space, so no word or figure
    is split; only a single word longer than a chunk is cut inside."""
    pieces: list[_Unit] = []
    while len(text) > max_chars:
        cut = text.rfind(" ", 0, max_chars + 1)
        cut = cut if cut > 0 else max_chars
        pieces.append(_Unit(text[:cut], continued=bool(pieces)))
        text = text[cut:].lstrip()
    if text:
        pieces.append(_Unit(text, continued=bool(pieces)))
    return pieces


def _pack(units: list[_Unit], max_chars: int, overlap_chars: int) -> list[str]:
    pieces: list[str] = []
    current = ""
    for unit in units:
        if current and len(current) + 1 + len(unit.text) > max_chars:
            pieces.append(current)
            # A continuation starts where the previous piece stopped: a tail before it would be read as its start.
            tail = current[-overlap_chars:] if overlap_chars and not unit.continued else ""
            tail = tail[tail.find(" ") + 1 :] if " " in tail else ""  # never a word's end alone
            current = f"{tail} {unit.text}" if tail and len(tail) + 1 + len(unit.text) <= max_chars else unit.text
        else:
            current = f"{current} {unit.text}" if current else unit.text
    if current:
        pieces.append(current)
    return pieces
