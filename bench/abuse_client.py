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
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import psutil


@dataclass(frozen=True)
class RawResponse:
    status: int
    body: bytes
    sent_bytes: int


class _Collector(asyncio.Protocol):
    """Keeps every byte the server sends, whatever happens to the sending side (a 413 is usually followed by
    a reset while the client is still writing; asyncio's streams would turn that into a read error)."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.closed = asyncio.get_running_loop().create_future()
        self.writable = asyncio.Event()
        self.writable.set()

    def data_received(self, data: bytes) -> None:
        self.received += data

    def connection_lost(self, exc: Exception | None) -> None:
        self.writable.set()
        if not self.closed.done():
            self.closed.set_result(None)

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def response(self) -> tuple[int, bytes] | None:
        """The status and body once a whole response has arrived."""
        head, separator, body = bytes(self.received).partition(b"\r\n\r\n")
        if not separator:
            return None
        lines = head.decode("latin-1").split("\r\n")
        length = next((int(v) for n, _, v in (h.partition(":") for h in lines[1:]) if n.lower() == "content-length"), 0)
        return (int(lines[0].split()[1]), body[:length]) if len(body) >= length else None


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
    loop = asyncio.get_running_loop()
    transport, collector = await loop.create_connection(_Collector, parts.hostname, parts.port or 80)
    head = [f"{method} {path} HTTP/1.1", f"Host: {parts.netloc}", *(f"{k}: {v}" for k, v in headers.items())]
    head.append(f"Content-Length: {content_length}" if content_length is not None else "Transfer-Encoding: chunked")
    sent = 0
    try:
        async with asyncio.timeout(timeout_s):
            transport.write(("\r\n".join(head) + "\r\n\r\n").encode())
            for chunk in chunks:
                await collector.writable.wait()
                if transport.is_closing() or collector.response() is not None:
                    break
                transport.write(chunk if content_length is not None else b"%x\r\n%b\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            else:
                if content_length is None and not transport.is_closing():
                    transport.write(b"0\r\n\r\n")
            while (answer := collector.response()) is None and not collector.closed.done():
                await asyncio.wait([collector.closed], timeout=0.05)
    finally:
        transport.close()
    answer = collector.response()
    if answer is None:
        raise ConnectionError(f"no complete response after sending {sent} bytes")
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
