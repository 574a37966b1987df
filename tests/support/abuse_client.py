"""What an attacker's client does that httpx will not: bodies far over the limit sent on a raw socket.

httpx sends the whole body before it reads the answer, so a server that answers 413 early and closes makes
it fail with a write error; this client keeps reading while it writes and reports what came back. Also
measures the resident memory of a Serve deployment's replicas on this machine (their process titles are
``ray::ServeReplica:<app>:<deployment>``).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import socket
import threading
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import psutil


@dataclass(frozen=True)
class RawResponse:
    status: int
    body: bytes
    sent_bytes: int


def _parse(received: bytes) -> tuple[int, bytes] | None:
    """The status and body once a whole response has arrived."""
    head, separator, body = received.partition(b"\r\n\r\n")
    if not separator:
        return None
    lines = head.decode("latin-1").split("\r\n")
    length = next((int(v) for n, _, v in (h.partition(":") for h in lines[1:]) if n.lower() == "content-length"), 0)
    return (int(lines[0].split()[1]), body[:length]) if len(body) >= length else None


def _exchange(host: str, port: int, frames: Iterable[bytes], timeout_s: float) -> tuple[bytes, int, str]:
    """Send on one thread while another reads: a server that answers early and resets the connection must not
    lose its answer (asyncio's transports stop reading when a write fails, dropping it)."""
    sock = socket.create_connection((host, port), timeout=timeout_s)
    sock.settimeout(0.5)
    received = bytearray()
    answered = threading.Event()
    started = time.monotonic()
    deadline = started + timeout_s
    ending: list[str] = []

    def read() -> None:
        try:
            while time.monotonic() < deadline and _parse(bytes(received)) is None:
                try:
                    data = sock.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    ending.append("closed by the server")
                    break
                received.extend(data)
            else:
                ending.append("answered" if _parse(bytes(received)) is not None else "timed out")
        except OSError as exc:
            ending.append(f"{type(exc).__name__}: {exc}")
        finally:
            ending.append(f"after {time.monotonic() - started:.2f} s")
            answered.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    sent = 0
    try:
        for index, frame in enumerate(frames):
            view = memoryview(frame)
            while view and not answered.is_set():
                try:
                    view = view[sock.send(view) :]
                except TimeoutError:
                    continue
            if answered.is_set():
                break
            sent += len(frame) if index else 0  # the first frame is the request head
    except OSError:  # reset after the server answered and closed: the reader still has the answer
        pass
    answered.wait(max(0.0, deadline - time.monotonic()))
    sock.close()
    reader.join(1.0)
    return bytes(received), sent, " ".join(ending)


async def raw_request(
    base_url: str,
    method: str,
    path: str,
    headers: dict[str, str],
    chunks: Iterable[bytes],
    *,
    content_length: int | None,
    timeout_s: float = 120.0,
) -> RawResponse:
    """Send ``chunks`` as the body, with ``content_length`` declared or, when None, chunked transfer encoding;
    stops sending once the answer has come back."""
    parts = urlsplit(base_url)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {parts.netloc}", *(f"{k}: {v}" for k, v in headers.items())]
    lines.append(f"Content-Length: {content_length}" if content_length is not None else "Transfer-Encoding: chunked")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()

    def frames() -> Iterator[bytes]:
        yield head
        for chunk in chunks:
            yield chunk if content_length is not None else b"%x\r\n%b\r\n" % (len(chunk), chunk)
        if content_length is None:
            yield b"0\r\n\r\n"

    received, sent, ending = await asyncio.to_thread(
        _exchange, parts.hostname or "127.0.0.1", parts.port or 80, frames(), timeout_s
    )
    answer = _parse(received)
    if answer is None:
        raise ConnectionError(
            f"{method} {path}: no complete response after sending {sent} body bytes (reading ended: {ending}); "
            f"received {len(received)} bytes: {received[:300]!r}"
        )
    return RawResponse(answer[0], answer[1], sent)


def repeated(chunk_bytes: int, total_bytes: int) -> Iterable[bytes]:
    chunk = b"x" * chunk_bytes
    for _ in range(total_bytes // chunk_bytes):
        yield chunk


def replica_rss_bytes(deployment: str = "InventoryAPI") -> dict[int, int]:
    """Resident memory of each local replica process of ``deployment``, by pid."""
    found: dict[int, int] = {}
    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if cmdline.startswith("ray::ServeReplica:") and cmdline.split()[0].endswith(f":{deployment}"):
            with contextlib.suppress(psutil.Error):
                found[process.info["pid"]] = process.memory_info().rss
    return found


def docx_bomb(unpacked_bytes: int = 200 * 1024 * 1024) -> bytes:
    """A valid DOCX whose one paragraph inflates from a few hundred KB to ``unpacked_bytes`` of text."""
    import docx

    template = io.BytesIO()
    docx.Document().save(template)
    head = b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>'
    tail = b"</w:t></w:r></w:p></w:body></w:document>"
    buffer = io.BytesIO()
    with zipfile.ZipFile(template) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            if info.filename != "word/document.xml":
                archive.writestr(info, source.read(info))
        with archive.open("word/document.xml", "w", force_zip64=True) as part:
            part.write(head)
            block = b"boom " * (1024 * 1024 // 5)
            for _ in range(unpacked_bytes // len(block)):
                part.write(block)
            part.write(tail)
    return buffer.getvalue()


def docx_with_parts(parts: int) -> bytes:
    """A DOCX-shaped zip of many tiny parts (each one costs parsing time and memory when opened)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index in range(parts):
            archive.writestr(f"word/media/part{index}.xml", "<x/>")
    return buffer.getvalue()
