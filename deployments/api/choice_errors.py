"""A value outside a field's accepted set, worded for people: the field named, the values it takes listed plainly.

Pydantic words such a refusal with Python reprs: a discriminated union's unknown tag (a movement's ``type``) as
"Input tag 'recieve' found using 'type' does not match any of the expected tags: <MovementType.RECEIPT:
'receipt'>, ...", located at the body rather than at ``type``; a ``Literal`` of enum members as "Input should be
<MovementType.RECEIPT: 'receipt'>". Here every refused choice (``enum``, ``literal_error``, ``union_tag_invalid``)
reads "'recieve' is not one of receipt, issue, transfer, adjustment" at the field's location, and a missing tag
"Field required" at the tag's. Other errors pass as pydantic words them."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

_QUOTED = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
# One accepted value as pydantic's ``expected`` lists it: an enum member's repr, a quoted literal, a bare one (a
# number, True, None); "or" and the commas between them are no values.
_VALUE = re.compile(rf"<[\w.]+: (?P<member>{_QUOTED}|[^>]+)>|(?P<quoted>{_QUOTED})|(?P<bare>[^\s,]+)")
_SHOWN = 40  # characters of a refused value shown, as the list filters show them


def plain_error(error: dict[str, Any]) -> tuple[list[Any], str]:
    """The location and message of one of pydantic's errors (as FastAPI lists them), a refused choice reworded."""
    location = list(error.get("loc", ()))
    message = str(error.get("msg", ""))
    kind, ctx = error.get("type"), error.get("ctx") or {}
    given: Any = error.get("input")
    if kind in ("enum", "literal_error") and "expected" in ctx:
        return location, _not_one_of(given, _values(str(ctx["expected"])))
    if kind in ("union_tag_invalid", "union_tag_not_found") and "discriminator" in ctx:
        field = _unquoted(str(ctx["discriminator"]))
        named = isinstance(given, dict) and field.isidentifier()  # a field, not a callable discriminator's name
        if kind == "union_tag_not_found":
            return ([*location, field], "Field required") if named else (location, message)
        if "expected_tags" in ctx:
            sent = given.get(field) if named else ctx.get("tag")
            return [*location, field] if named else location, _not_one_of(sent, _values(str(ctx["expected_tags"])))
    return location, message


def _not_one_of(given: Any, values: list[str]) -> str:
    shown = _shown(given)
    if len(values) == 1:
        return f"{shown} is not {values[0]}, the one value taken"
    return f"{shown} is not one of {', '.join(values)}"


def _shown(given: Any) -> str:
    """A refused value as sent: a string quoted, anything else as JSON, a non-integer number bare as written (the
    body parser reads it as a Decimal: until 2026-12-08 1.5 read "1.5", a string); past ``_SHOWN`` characters cut,
    the cut marked with "…" (until 2026-12-08 it was not)."""
    if isinstance(given, str):
        quoted = repr(given[:_SHOWN])
        return quoted[:-1] + "…" + quoted[-1] if len(given) > _SHOWN else quoted
    text = ""
    for piece in _json_pieces(given):  # only the start is rendered: a value may be large, or deeply nested
        text += piece
        if len(text) > _SHOWN:
            return text[:_SHOWN] + "…"
    return text


def _json_pieces(value: Any) -> Iterator[str]:
    """``value`` as JSON, piece by piece, a Decimal as its digits."""
    if isinstance(value, Decimal):
        yield str(value)
    elif isinstance(value, list):
        yield "["
        for i, item in enumerate(value):
            yield ", " if i else ""
            yield from _json_pieces(item)
        yield "]"
    elif isinstance(value, dict):
        yield "{"
        for i, (key, item) in enumerate(value.items()):
            yield (", " if i else "") + json.dumps(str(key)) + ": "
            yield from _json_pieces(item)
        yield "}"
    else:
        yield json.dumps(value, default=str)


def _values(expected: str) -> list[str]:
    values = []
    for match in _VALUE.finditer(expected):
        if match["bare"] == "or":
            continue
        values.append(_unquoted(match["member"] or match["quoted"] or match["bare"]))
    return values


def _unquoted(text: str) -> str:
    """A quoted literal's text (``'receipt'`` is receipt); anything else as it is."""
    if text[:1] in ("'", '"'):
        try:
            return str(ast.literal_eval(text))
        except (ValueError, SyntaxError):
            return text[1:-1]
    return text
