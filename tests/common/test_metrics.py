"""The HTTP metrics middleware labels each request with the status it ended with."""

from __future__ import annotations

import asyncio

import pytest
from starlette.types import Message, Receive, Scope, Send

from common.metrics import HttpMetrics, MetricsMiddleware

PATH = "/api/v1/ai/forecast/demand"


def _scope() -> Scope:
    return {"type": "http", "method": "GET", "path": PATH, "headers": [], "query_string": b""}


async def _never_receives() -> Message:
    await asyncio.sleep(3600)
    return {"type": "http.disconnect"}


def _requests_by_status(metrics: HttpMetrics) -> dict[str, float]:
    (family,) = [family for family in metrics.registry.collect() if family.name == "chainsight_http_requests"]
    return {s.labels["status"]: s.value for s in family.samples if s.name.endswith("_total")}


async def _slow_route(scope: Scope, receive: Receive, send: Send) -> None:
    scope["route"] = PATH  # what the router sets once the path matched
    await asyncio.sleep(3600)  # a refit that takes longer than the client waits


async def _failing_route(scope: Scope, receive: Receive, send: Send) -> None:
    scope["route"] = PATH
    raise RuntimeError("the model file is corrupt")


async def _discard(message: Message) -> None:
    return None


async def test_a_request_cancelled_before_its_response_started_counts_as_499_not_500():
    metrics = HttpMetrics()
    request = asyncio.create_task(MetricsMiddleware(_slow_route, metrics)(_scope(), _never_receives, _discard))
    await asyncio.sleep(0.05)
    request.cancel()  # what a Serve replica does when the client disconnects or the request times out

    with pytest.raises(asyncio.CancelledError):
        await request

    assert _requests_by_status(metrics) == {"499": 1.0}


async def test_a_request_whose_handler_raised_counts_as_500():
    metrics = HttpMetrics()

    with pytest.raises(RuntimeError):
        await MetricsMiddleware(_failing_route, metrics)(_scope(), _never_receives, _discard)

    assert _requests_by_status(metrics) == {"500": 1.0}
