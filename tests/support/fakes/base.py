"""A threaded HTTP server on 127.0.0.1 with the faults every fake ERP can inject.

Faults: ``throttle(n, retry_after)`` answers the next n requests with the vendor's 429 and a Retry-After
header; ``drop_after(n)`` lets n more requests through, then closes every connection without a response
(a mid-sync connection drop, an ERP gone down) until ``heal()``; ``answer_next(path, response)`` answers
the next request to one path with a given response (a proxy's page, a server that misbehaves);
``lose_answer_to(predicate)`` handles the next request it matches (its writes happen) and then closes the
connection without answering (a timeout after the ERP did the work); ``slow_down(predicate, seconds)`` answers
the requests it matches that much later (an ERP slow to create a record).
The fakes that issue OAuth bearer tokens keep them in ``bearer_tokens`` and announce ``token_lifetime_s`` as
their ``expires_in``; ``expire_tokens()`` revokes them all.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    raw_path: str = ""

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        """An ``application/x-www-form-urlencoded`` body (first value of each field)."""
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Response:
    status: int = 200
    body: Any = None  # bytes, str or JSON-serialisable
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, self.headers.get("Content-Type", "application/octet-stream")
        if isinstance(self.body, str):
            return self.body.encode(), self.headers.get("Content-Type", "text/plain; charset=utf-8")
        if self.body is None:
            return b"", self.headers.get("Content-Type", "text/plain")
        return json.dumps(self.body, default=str).encode(), self.headers.get("Content-Type", "application/json")


class Clock:
    """The fake's notion of now: starts at a fixed instant and moves one second per write."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 5, 8, 0, 0, tzinfo=UTC)

    def tick(self, seconds: float = 1) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


class FakeServer:
    vendor = "fake"

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clock = Clock()
        self.requests: list[tuple[str, str]] = []
        self._throttle: deque[int] = deque()
        self._drop_after: int | None = None
        self._answers: dict[str, deque[Response]] = {}
        self._lose: Callable[[Request], bool] | None = None
        self._slow: tuple[Callable[[Request], bool], float] | None = None
        self.token_lifetime_s = 3600
        self.bearer_tokens: set[str] = set()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _dispatch(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                request = Request(
                    method=self.command,
                    path=split.path,
                    query={k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    raw_path=self.path,
                )
                response = fake._respond(request)
                if response is None:  # drop the connection without answering
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                payload, content_type = response.encoded()
                self.send_response(response.status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in response.headers.items():
                    if name.lower() != "content-type":
                        self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _dispatch

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name=f"fake-{self.vendor}", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- faults -----------------------------------------------------------------------------------------------

    def throttle(self, times: int = 1, retry_after: int = 1) -> None:
        with self.lock:
            self._throttle.extend([retry_after] * times)

    def drop_after(self, requests: int) -> None:
        with self.lock:
            self._drop_after = requests

    def answer_next(self, path: str, response: Response, times: int = 1) -> None:
        with self.lock:
            self._answers.setdefault(path, deque()).extend([response] * times)

    def lose_answer_to(self, predicate: Callable[[Request], bool]) -> None:
        with self.lock:
            self._lose = predicate

    def slow_down(self, predicate: Callable[[Request], bool], seconds: float) -> None:
        with self.lock:
            self._slow = (predicate, seconds)

    def heal(self) -> None:
        with self.lock:
            self._drop_after = None
            self._throttle.clear()
            self._answers.clear()

    def count(self, method: str, path_prefix: str = "") -> int:
        with self.lock:
            return sum(1 for m, p in self.requests if m == method and p.startswith(path_prefix))

    # --- OAuth bearer tokens ----------------------------------------------------------------------------------

    def issue_bearer_token(self, prefix: str = "", nbytes: int = 24) -> str:
        token = prefix + secrets.token_urlsafe(nbytes)
        with self.lock:
            self.bearer_tokens.add(token)
        return token

    def holds_bearer_token(self, request: Request) -> bool:
        """Whether the request carries ``Authorization: Bearer`` with a token this fake issued and still honours."""
        auth = request.headers.get("authorization", "")
        with self.lock:
            return auth.startswith("Bearer ") and auth[7:] in self.bearer_tokens

    def expire_tokens(self) -> None:
        with self.lock:
            self.bearer_tokens.clear()

    def _respond(self, request: Request) -> Response | None:
        with self.lock:
            self.requests.append((request.method, request.path))
            if self._drop_after is not None:
                if self._drop_after <= 0:
                    return None
                self._drop_after -= 1
            if self._throttle:
                retry_after = self._throttle.popleft()
                return self.throttled(retry_after)
            if self._answers.get(request.path):
                return self._answers[request.path].popleft()
            delay = self._slow[1] if self._slow is not None and self._slow[0](request) else 0.0
        time.sleep(delay)  # outside the lock: other requests go on meanwhile
        try:
            response = self.handle(request)
        except Exception as exc:  # a bug in the fake must show up as a 500, like a real server
            return Response(500, {"error": f"fake server error: {exc!r}"})
        with self.lock:
            if self._lose is not None and self._lose(request):
                self._lose = None
                return None
        return response

    def throttled(self, retry_after: int) -> Response:
        return Response(429, "Too Many Requests", {"Retry-After": str(retry_after)})

    def handle(self, request: Request) -> Response:
        raise NotImplementedError
