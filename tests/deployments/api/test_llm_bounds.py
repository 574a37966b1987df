"""deployments/api/llm_bounds.py: what the OpenAI-compatible route refuses before the engine sees a request."""

from __future__ import annotations

import pytest

from deployments.api.llm_bounds import check_chat_bounds


@pytest.mark.parametrize("text", [5, True, 1.5, ["a"], {"a": 1}])
def test_a_text_part_that_is_no_string_is_left_to_validation_not_a_crash(text):
    # Before, len(5) raised a TypeError: a 500 for the request.
    body = {"messages": [{"role": "user", "content": [{"type": "text", "text": text}]}]}
    # It passes the bounds (nothing to count), and the request's validation then refuses it with a 400.
    assert check_chat_bounds(body, max_prompt_chars=8000) is None
