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
    shown = repr(given[:_SHOWN]) if isinstance(given, str) else json.dumps(given, default=str)[:_SHOWN]
    if len(values) == 1:
        return f"{shown} is not {values[0]}, the one value taken"
    return f"{shown} is not one of {', '.join(values)}"


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
