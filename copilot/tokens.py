"""Counting text in a model's own tokens, so that a prompt is fitted to the window the engine enforces (and a
document chunk to what the embedding model reads).

Characters say little: SmolLM2 reads English at about 4 characters a token, Chinese at about one and an emoji at
three tokens each, so a prompt fitted by characters could overflow the window and be refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tokenizers import Tokenizer

logger = logging.getLogger(__name__)

TokenCounter = Callable[[str], int]


@dataclass(frozen=True)
class TokenWindow:
    """How much of a text a model reads: ``count`` is the tokens it reads ``text`` as, its special tokens included
    (a count past ``size`` may stop at ``size + 1``), and it reads the first ``size`` and ignores the rest."""

    count: TokenCounter
    size: int


def utf8_upper_bound(text: str) -> int:
    """At least the tokens ``text`` takes: a byte-level BPE token (SmolLM2, Llama 3, Qwen, GPT-2) covers one byte
    or more, as does a SentencePiece piece or byte-fallback token (plus the one word-start marker)."""
    return len(text.encode("utf-8")) + 1


def load_token_counter(model_source: str) -> TokenCounter:
    """The tokenizer of ``model_source`` (a model folder holding ``tokenizer.json``, as the converted SmolLM2, or
    a Hugging Face id), or the UTF-8 upper bound when it cannot be loaded (fewer passages fit, none overflows)."""
    folder = Path(model_source)
    if (folder / "tokenizer.json").is_file():
        from tokenizers import Tokenizer

        return _counter(Tokenizer.from_file(str(folder / "tokenizer.json")))
    if folder.exists():
        logger.warning("%s holds no tokenizer.json: prompts are fitted by UTF-8 bytes", model_source)
        return utf8_upper_bound
    try:
        from transformers import AutoTokenizer

        hub_tokenizer = AutoTokenizer.from_pretrained(model_source)
    except (OSError, ValueError) as error:
        logger.warning("no tokenizer for %s (%s): prompts are fitted by UTF-8 bytes", model_source, error)
        return utf8_upper_bound
    backend = getattr(hub_tokenizer, "backend_tokenizer", None)
    if backend is None:
        logger.warning("the tokenizer of %s is no fast tokenizer: prompts are fitted by UTF-8 bytes", model_source)
        return utf8_upper_bound
    return _counter(backend)


def _counter(tokenizer: Tokenizer) -> TokenCounter:
    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

    return count
