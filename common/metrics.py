"""Prometheus metrics for HTTP traffic, recorded by a plain ASGI middleware (cheap on the hot path).

Outside production each process (a uvicorn worker or a Serve replica) exposes its own registry at ``/metrics``;
in production the same series reach Prometheus only through Ray's metrics agent, which also exports Serve's
built-in per-deployment metrics on the cluster.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# nginx's code for a request the client abandoned before the response began.
CLIENT_CLOSED_REQUEST = 499

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class RequestObserver(Protocol):
    """Anything else that wants each request's outcome (e.g. Ray's metrics agent in a Serve replica)."""

    def observe(self, method: str, route: str, status: str, seconds: float) -> None: ...


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry | None = None, observers: Sequence[RequestObserver] = ()) -> None:
        self.registry = registry or CollectorRegistry()
        self.observers = tuple(observers)
        self.requests = Counter(
            "chainsight_http_requests_total",
            "HTTP requests by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "chainsight_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: str, seconds: float) -> None:
        self.requests.labels(method, route, status).inc()
        self.latency.labels(method, route).observe(seconds)
        for observer in self.observers:
            observer.observe(method, route, status, seconds)

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_status(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        except asyncio.CancelledError:
            # Cancelled before answering: the client went away (Serve cancels the request then) or Serve's
            # request timeout struck. Not a server error, so it must not count as 500 towards the error-rate
            # alert. Serve records 499 for a disconnect and 408 for its timeout; both are 499 here, as this
            # layer cannot tell them apart.
            if not response_started:
                status = CLIENT_CLOSED_REQUEST
            raise
        finally:
            self.metrics.observe(
                scope.get("method", "GET"), _route_template(scope), str(status), time.perf_counter() - started
            )


def _route_template(scope: Scope) -> str:
    """The request path with path parameters put back as ``{name}``: bounded label cardinality.

    Rebuilt from the path because, with nested routers, the matched route only knows its own suffix.
    """
    if scope.get("route") is None:
        return "unmatched"
    by_value = {str(value): name for name, value in scope.get("path_params", {}).items()}
    segments = scope.get("path", "").split("/")
    return "/".join(f"{{{by_value[s]}}}" if s in by_value else s for s in segments)
