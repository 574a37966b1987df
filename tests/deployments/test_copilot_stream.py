"""Reading the LLM server's chat-completion event stream (``chat_deltas``): no Ray needed."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from common.errors import InvalidInputError
from deployments.copilot_service import chat_deltas


def event(text: str) -> str:
    return "data: " + json.dumps({"choices": [{"delta": {"content": text}}]}, ensure_ascii=False) + "\n\n"


def test_unicode_line_separators_inside_a_delta_stay_in_the_text():
    # A fuzzed question with U+0085 was echoed by the model and cut the chunk's JSON in two (a 500).
    texts = ["Pk\x85q", "a\u2028b\u2029c", "\x1c\x1d\x1e\x0b\x0c"]
    assert chat_deltas("".join(event(t) for t in texts) + "data: [DONE]\n\n") == texts


def test_events_split_at_crlf_lf_and_cr():
    stream = event("one").replace("\n", "\r\n") + event("two") + event("three").replace("\n", "\r")
    assert chat_deltas(stream) == ["one", "two", "three"]


def test_nul_characters_the_model_writes_are_dropped():
    assert chat_deltas(event("12\x00 units") + event("\x00")) == ["12 units"]


def test_the_engines_own_client_error_is_a_400_for_the_question_and_any_other_refusal_stays_a_server_error():
    # Before, a prompt the engine refused as longer than its context (700 emoji are 2,210 tokens) was a 500.
    too_long = SimpleNamespace(error=SimpleNamespace(code=400, message="maximum context length is 2048 tokens"))
    with pytest.raises(InvalidInputError) as refused:
        chat_deltas(too_long)
    assert refused.value.code == "question_too_long" and "2048" in refused.value.message
    with pytest.raises(RuntimeError, match="refused"):
        chat_deltas(SimpleNamespace(error=SimpleNamespace(code=500, message="engine dead")))
