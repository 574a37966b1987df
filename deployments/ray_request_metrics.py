"""Request metrics through Ray's metrics agent, so a cluster-wide scrape sees every replica.

Each replica's /metrics shows only that replica; Ray's agent on every node exports these (as
``ray_chainsight_http_*``) next to Serve's built-in per-deployment metrics.
"""

from __future__ import annotations

from ray.util.metrics import Counter, Histogram

from common.metrics import LATENCY_BUCKETS


class RayRequestMetrics:
    def __init__(self, deployment: str) -> None:
        self._deployment = deployment
        self._requests = Counter(
            "chainsight_http_requests_total",
            description="HTTP requests by method, route template and status code.",
            tag_keys=("deployment", "method", "route", "status"),
        )
        self._latency = Histogram(
            "chainsight_http_request_duration_seconds",
            description="HTTP request latency by method and route template.",
            boundaries=list(LATENCY_BUCKETS),
            tag_keys=("deployment", "method", "route"),
        )

    def observe(self, method: str, route: str, status: str, seconds: float) -> None:
        tags = {"deployment": self._deployment, "method": method, "route": route}
        self._requests.inc(1.0, tags={**tags, "status": status})
        self._latency.observe(seconds, tags=tags)
