"""Count database round trips: a loopback proxy in front of PostgreSQL that reads the client's protocol.

A client waits for the server once per simple Query message ('Q', which may hold several statements)
and once per Sync ('S', which ends an extended-protocol exchange: Parse/Bind/Execute ... Sync). Counting
those two message types therefore counts round trips exactly, whatever the driver batches in between,
without touching the application: point its DATABASE_URL at ``RoundTripCounter.dsn``.

Used by the throughput bench (round trips per request) and by the test that states them.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections import Counter
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

# Untyped startup packets that are answered and followed by another startup packet.
_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104
_ROUND_TRIP_MESSAGES = {b"Q": "query", b"S": "sync"}


def _upstream(dsn: str) -> tuple[str | None, str, int]:
    """(unix socket path or None, host, port) that ``dsn`` connects to."""
    parts = urlsplit(dsn)
    query = parse_qs(parts.query)
    host = query.get("host", [parts.hostname or "localhost"])[0]
    port = int(query.get("port", [parts.port or 5432])[0])
    if host.startswith("/"):
        return f"{host}/.s.PGSQL.{port}", host, port
    return None, host, port


class RoundTripCounter:
    """Forwards every byte both ways and counts the client's round trips (``total``, ``by_kind``)."""

    def __init__(self, dsn: str) -> None:
        self._target = dsn
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.by_kind: Counter[str] = Counter()
        self.port = 0

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())

    def reset(self) -> None:
        self.by_kind.clear()

    @property
    def dsn(self) -> str:
        """``dsn`` with the proxy as its host (TCP on loopback, no TLS: the proxy must read the protocol)."""
        parts = urlsplit(self._target)
        query = {k: v[0] for k, v in parse_qs(parts.query).items() if k not in ("host", "port", "sslmode")}
        query["sslmode"] = "disable"
        user = parts.username or "postgres"
        auth = f"{user}:{parts.password}" if parts.password else user
        return urlunsplit((parts.scheme, f"{auth}@127.0.0.1:{self.port}", parts.path, urlencode(query), ""))

    async def start(self) -> RoundTripCounter:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in tuple(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> RoundTripCounter:
        return await self.start()

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        path, host, port = _upstream(self._target)
        try:
            if path is not None:
                server_r, server_w = await asyncio.open_unix_connection(path)
            else:
                server_r, server_w = await asyncio.open_connection(host, port)
        except OSError:
            client_w.close()
            self._tasks.discard(task)
            return
        back = asyncio.create_task(_pipe(server_r, client_w))
        try:
            await self._client_to_server(client_r, server_w)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            server_w.close()
            back.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await back
            client_w.close()
            self._tasks.discard(task)

    async def _client_to_server(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:  # startup packets: length, then a code; SSL/GSS requests come before the real one
            header = await reader.readexactly(8)
            length, code = struct.unpack("!ii", header)
            writer.write(header + await reader.readexactly(length - 8))
            await writer.drain()
            if code not in (_SSL_REQUEST, _GSSENC_REQUEST):
                break
        while True:  # typed messages: one byte of type, then the length (which counts itself)
            header = await reader.readexactly(5)
            (length,) = struct.unpack("!i", header[1:])
            kind = _ROUND_TRIP_MESSAGES.get(header[:1])
            if kind is not None:
                self.by_kind[kind] += 1
            writer.write(header + await reader.readexactly(length - 4))
            await writer.drain()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()
