"""Counting prompts in the engine's tokens (``copilot.tokens``)."""

from __future__ import annotations

from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Whitespace

from copilot.tokens import load_token_counter, utf8_upper_bound


def test_a_model_folder_is_counted_with_its_own_tokenizer(tmp_path):
    tokenizer = Tokenizer(WordLevel({"[UNK]": 0, "stock": 1, "of": 2}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    count = load_token_counter(str(tmp_path))
    assert count("stock of SKU-0") == 5  # stock, of, SKU, -, 0


def test_a_folder_without_a_tokenizer_is_counted_by_its_utf8_bytes(tmp_path):
    assert load_token_counter(str(tmp_path)) is utf8_upper_bound


def test_the_utf8_bound_counts_an_emoji_as_more_than_one_token():
    # SmolLM2 reads one emoji as three tokens; at three characters a token, 700 of them looked like 234.
    assert utf8_upper_bound("😀" * 700) > 2048
