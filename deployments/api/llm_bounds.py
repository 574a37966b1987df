"""Bounds on an OpenAI-compatible chat request before it reaches the engine.

Each of these multiplies the engine time one call can take: ``n``/``best_of`` generate several answers,
long stop lists are checked at every token, and the prompt is prefilled in full. ``max_tokens`` is
bounded by the route itself (COPILOT_ANSWER_TOKENS).
"""

from __future__ import annotations

from typing import Any

from common.errors import InvalidInputError, PayloadTooLargeError

MAX_CHOICES = 2
MAX_STOP_SEQUENCES = 4
MAX_STOP_CHARS = 64
MAX_STOP_TOKEN_IDS = 16
MAX_MESSAGES = 64


def check_chat_bounds(body: dict[str, Any], *, max_prompt_chars: int) -> None:
    """Raise a 4xx for a request that would cost more than one bounded answer."""
    for field in ("n", "best_of"):
        value = body.get(field)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_CHOICES
        ):
            raise InvalidInputError(f"{field} must be an integer from 1 to {MAX_CHOICES}", code=f"invalid_{field}")
    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else stop
    if stops is not None and (
        not isinstance(stops, list)
        or len(stops) > MAX_STOP_SEQUENCES
        or not all(isinstance(s, str) and len(s) <= MAX_STOP_CHARS for s in stops)
    ):
        raise InvalidInputError(
            f"stop must be a string or a list of at most {MAX_STOP_SEQUENCES} strings of at most {MAX_STOP_CHARS} "
            "characters",
            code="invalid_stop",
        )
    token_ids = body.get("stop_token_ids")
    if token_ids is not None and (not isinstance(token_ids, list) or len(token_ids) > MAX_STOP_TOKEN_IDS):
        raise InvalidInputError(
            f"stop_token_ids must be a list of at most {MAX_STOP_TOKEN_IDS} ids", code="invalid_stop_token_ids"
        )
    messages = _messages(body)
    if len(messages) > MAX_MESSAGES:
        raise InvalidInputError(f"at most {MAX_MESSAGES} messages per request", code="too_many_messages")
    length = sum(_content_chars(message.get("content"), f"messages.{i}.content") for i, message in enumerate(messages))
    if length > max_prompt_chars:
        raise PayloadTooLargeError(
            f"the messages hold {length} characters; the limit is {max_prompt_chars}",
            code="prompt_too_long",
            details={"length": length, "max_length": max_prompt_chars},
        )


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    # vLLM's checks that run before the request model's own take these shapes for granted: a TypeError or an
    # AttributeError (a 500) on any other, where OpenAI answers a 400.
    messages = body.get("messages", [])
    if not isinstance(messages, list) or not all(isinstance(message, dict) for message in messages):
        raise InvalidInputError("messages must be a list of message objects", code="validation_error")
    tool_calls = [message["tool_calls"] for message in messages if message.get("tool_calls") is not None]
    if not all(isinstance(calls, list) for calls in tool_calls):
        raise InvalidInputError("a message's tool_calls must be a list of tool calls", code="validation_error")
    if body.get("structured_outputs") is not None and not isinstance(body["structured_outputs"], dict):
        raise InvalidInputError("structured_outputs must be an object", code="validation_error")
    return messages


def _content_chars(content: Any, where: str) -> int:
    if content is None or isinstance(content, str):  # None: an assistant message with tool calls only
        return len(content or "")
    # The request model leaves a list of parts that no message type matches unread (checked only when read), and
    # unread it cannot be sent to the replica: a 500 after the rate limit had taken its slot.
    if not isinstance(content, list) or not content or not all(isinstance(part, dict) for part in content):
        raise InvalidInputError(
            f"{where}: a message's content must be a string or a non-empty list of content parts (objects)",
            code="validation_error",
        )
    length = 0
    for index, part in enumerate(content):
        if part.get("type") == "text" or "text" in part:
            text = part.get("text")
            if not isinstance(text, str):
                # The request model coerces some (5 became "5" for the engine, which then failed: a 500).
                raise InvalidInputError(f"{where}.{index}.text: must be a string", code="validation_error")
            length += len(text)
    return length
