"""Small pieces the ``chainsight`` subcommands share: the database they find, and one-line user errors."""

from __future__ import annotations

import argparse
import asyncio
import atexit
from collections.abc import Callable
from datetime import date
from typing import NoReturn, TypeVar
from urllib.parse import urlsplit
from uuid import UUID

import asyncpg
import typer

from common.config import Settings, get_settings

Value = TypeVar("Value")


def ensure_database_url() -> str:
    """DATABASE_URL, or the embedded PostgreSQL started (and left running) as `chainsight db-url` does; a
    database that cannot be reached or is not migrated ends the command here in one line, before any Ray work."""
    from deployments.local_stack import ensure_database

    url = ensure_database(get_settings(), cleanup=None)
    get_settings.cache_clear()  # ensure_database exported the URL; later reads of the settings must see it
    try:
        migrated = asyncio.run(_has_schema(url))
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:  # TimeoutError is an OSError
        fail(f"cannot use the database at {database_location(url)}: {exc}")
    if not migrated:
        fail(f"the database at {database_location(url)} has no Chainsight tables yet: run `chainsight migrate` first")
    return url


async def _has_schema(url: str) -> bool:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        return bool(await conn.fetchval("SELECT to_regclass('app.members') IS NOT NULL"))
    finally:
        await conn.close()


def database_location(url: str) -> str:
    """Host, port and database of ``url``, without its credentials."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"


def fail(problem: Exception | str) -> NoReturn:
    """A user's mistake: one line on stderr and exit status 2, no traceback."""
    typer.echo(f"error: {getattr(problem, 'message', None) or problem}", err=True)
    raise typer.Exit(2) from (problem if isinstance(problem, Exception) else None)


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


def option_value(option: str, read: Callable[[str], Value], text: str) -> Value:
    """``text`` read by ``read``, an argparse type the job's own command line uses (``training.job_args``), so that
    ``chainsight`` refuses what the job would, in one line naming ``option``, before a database or Ray starts."""
    try:
        return read(text)
    except argparse.ArgumentTypeError as exc:
        fail(f"{option}: {exc}")
