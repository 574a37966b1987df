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


def chunk_sections(sections: list[Section], *, max_chars: int = 900, overlap_chars: int = 120) -> list[Chunk]:
    """Pack paragraphs (then sentences) into chunks of at most ``max_chars``, overlapping long runs."""
    chunks: list[Chunk] = []
    for section in sections:
        for piece in _pack(_units(section.text, max_chars), max_chars, overlap_chars):
            # The heading is repeated in the text so both the embedding and full-text search see it.
            content = f"{section.heading}\n{piece}" if section.heading else piece
            chunks.append(Chunk(len(chunks), content, section.heading, section.page))
    return chunks


def _units(text: str, max_chars: int) -> list[str]:
    units: list[str] = []
    for paragraph in _PARAGRAPH_BREAK.split(text):
        paragraph = " ".join(paragraph.split())
        if not paragraph:
            continue
        if len(paragraph) <= max_chars:
            units.append(paragraph)
            continue
        for sentence in _SENTENCE_END.split(paragraph):
            # A sentence longer than a chunk (a table row, a run-on line) is cut hard.
            units.extend(sentence[i : i + max_chars] for i in range(0, len(sentence), max_chars))
    return units


def _pack(units: list[str], max_chars: int, overlap_chars: int) -> list[str]:
    pieces: list[str] = []
    current = ""
    for unit in units:
        if current and len(current) + 1 + len(unit) > max_chars:
            pieces.append(current)
            tail = current[-overlap_chars:] if overlap_chars else ""
            tail = tail[tail.find(" ") + 1 :] if " " in tail else tail
            current = f"{tail} {unit}" if tail and len(tail) + 1 + len(unit) <= max_chars else unit
        else:
            current = f"{current} {unit}" if current else unit
    if current:
        pieces.append(current)
    return pieces
