"""Reading the LLM server's chat-completion event stream (``chat_deltas``): no Ray needed."""

from __future__ import annotations

import json

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
