"""Small pieces the ``chainsight`` subcommands share: the database they find, and one-line user errors."""

from __future__ import annotations

from datetime import date
from typing import NoReturn
from uuid import UUID

import typer

from common.config import get_settings


def ensure_database_url() -> str:
    """DATABASE_URL, or the embedded PostgreSQL started (and left running) as `chainsight db-url` does."""
    from deployments.local_stack import ensure_database

    url = ensure_database(get_settings(), cleanup=None)
    get_settings.cache_clear()  # ensure_database exported the URL; later reads of the settings must see it
    return url


def fail(exc: Exception) -> NoReturn:
    """A user's mistake: one line on stderr and exit status 2, no traceback."""
    typer.echo(f"error: {getattr(exc, 'message', None) or exc}", err=True)
    raise typer.Exit(2) from exc


def parse_uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not a UUID") from exc


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)") from exc
