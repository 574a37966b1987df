"""Chunks bound by the embedding model's window (``copilot.chunking`` with a ``TokenWindow``)."""

from __future__ import annotations

import pytest

from copilot.chunking import chunk_sections
from copilot.extraction import Section
from copilot.tokens import TokenWindow

SPECIAL_TOKENS = 2  # as [CLS] and [SEP]


class TalliedWords:
    """A token per word, plus the special tokens, tallying the characters it is asked to read."""

    def __init__(self) -> None:
        self.characters = 0

    def __call__(self, text: str) -> int:
        self.characters += len(text)
        return len(text.split()) + SPECIAL_TOKENS


# Until 2026-12-07 every unit added to a chunk had the whole chunk tokenized again: packing k units into a chunk
# read some k * k / 2 units' characters, 10 s a MB of token-dense text beside the embedding.
@pytest.mark.parametrize("sentences", [100, 400])
def test_packing_a_chunk_tokenizes_each_unit_once(sentences):
    text = "\n\n".join(f"Lot {i} ships on day {i % 30}." for i in range(sentences))
    count = TalliedWords()
    (chunk,) = chunk_sections([Section(text)], max_chars=len(text), window=TokenWindow(count, 10 * len(text)))
    assert chunk.content == " ".join(text.split())
    assert count.characters <= 3 * len(text)  # the units and the finished chunk, each read once


def words_and_spaces(text: str) -> int:
    """A tokenizer that reads each space between words as a token: a join costs more than its units' sum."""
    words = text.split()
    return 2 * len(words) - 1 + SPECIAL_TOKENS if words else SPECIAL_TOKENS


def test_a_tokenizer_reading_joins_as_tokens_still_gets_every_chunk_within_its_window():
    text = " ".join(f"Lot {i} ships on day {i % 30}." for i in range(200))
    window = TokenWindow(words_and_spaces, 64)
    chunks = chunk_sections([Section(text, heading="Shipping plan")], max_chars=10_000, window=window)
    assert max(words_and_spaces(chunk.content) for chunk in chunks) <= 64
    assert all(f"Lot {i} ships" in " ".join(c.content for c in chunks) for i in range(200))
