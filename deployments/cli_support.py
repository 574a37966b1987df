"""Small pieces the ``chainsight`` subcommands share: the database they find, and one-line user errors."""

from __future__ import annotations

import atexit
from datetime import date
from typing import NoReturn
from uuid import UUID

import typer

from common.config import Settings, get_settings


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


def refuse_held_ports(settings: Settings) -> None:
    """Before starting a local cluster: a port the stack binds that is already taken (often a HAProxy left by
    a stack killed mid-shutdown) ends the command with one line naming the process."""
    from deployments.local_stack import PortInUseError, check_ports_free

    if settings.ray_address:
        return  # joining a cluster: its own Serve may hold them
    try:
        check_ports_free(settings)
    except PortInUseError as exc:
        fail(exc)


def stop_serve_at_exit(settings: Settings) -> None:
    """Once Ray is up: at exit (Ctrl-C, "Aborted", an error, a normal stop) shut Serve down and stop the HAProxy
    of this stack's node before Ray's own exit handler (registered earlier, so run later) kills the proxy."""
    from deployments.local_stack import local_node_id, stop_serve

    if not settings.ray_address:  # a joined cluster's Serve application stays up, as it always did
        atexit.register(stop_serve, local_node_id())


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
