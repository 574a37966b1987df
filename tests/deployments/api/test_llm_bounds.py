"""deployments/api/llm_bounds.py: what the OpenAI-compatible route refuses before the engine sees a request."""

from __future__ import annotations

import pytest

from common.errors import InvalidInputError
from deployments.api.llm_bounds import check_chat_bounds


@pytest.mark.parametrize("text", [5, True, 1.5, ["a"], {"a": 1}, None])
def test_a_text_part_that_is_no_string_is_a_400_not_a_crash(text):
    # Before, len(5) raised a TypeError (a 500); and a text the request model coerced reached the engine, a 500 too.
    body = {"messages": [{"role": "user", "content": [{"type": "text", "text": text}]}]}
    with pytest.raises(InvalidInputError) as refused:
        check_chat_bounds(body, max_prompt_chars=8000)
    assert refused.value.code == "validation_error"
