"""Dataclasses from database rows, as the risk repository builds its facts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

import asyncpg

Row = TypeVar("Row")


def from_row(cls: type[Row], *rows: asyncpg.Record | Mapping[str, Any] | None, **given: Any) -> Row:
    """A dataclass from the columns of ``rows`` named like its fields (a later row wins; a missing row or column
    leaves the field's default), and ``given`` fields."""
    names = {f.name for f in fields(cls)} - given.keys()  # type: ignore[arg-type]
    found = {name: row[name] for row in rows if row is not None for name in names & set(row.keys())}
    return cls(**found, **given)
