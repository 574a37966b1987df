"""What Serve exports for failing requests, scraped from the node's Ray metrics port (as the PodMonitor does), and
the Serve error alert's ratio over those samples.

Two small applications join the session's Serve (no route: called through handles, as forecast, risk and the
copilot are): one that raises on every request and one that raises on every other request.
"""

from __future__ import annotations

import contextlib
import time
import urllib.request
from collections import defaultdict
from collections.abc import Iterator

import pytest
import ray
from prometheus_client.parser import text_string_to_metric_families
from ray import serve

from tests.cluster.cluster_support import serve_error_ratio_series

CALLS = 20
REQUESTS = "ray_serve_deployment_request_counter_total"
ERRORS = "ray_serve_deployment_error_counter_total"


@serve.deployment(name="AlwaysFails", ray_actor_options={"num_cpus": 0})
class AlwaysFails:
    def __call__(self, i: int) -> int:
        raise RuntimeError("always fails")


@serve.deployment(name="FailsOnOdd", ray_actor_options={"num_cpus": 0})
class FailsOnOdd:
    def __call__(self, i: int) -> int:
        if i % 2:
            raise RuntimeError("fails on odd numbers")
        return i


@pytest.fixture(scope="module")
def failing_apps(serve_url: str) -> Iterator[None]:
    """Both applications, each called CALLS times; deleted at the end of the module, or when setting them up fails."""
    try:
        handles = [
            serve.run(AlwaysFails.bind(), name="always-fails", route_prefix=None),
            serve.run(FailsOnOdd.bind(), name="fails-on-odd", route_prefix=None),
        ]
        for i in range(CALLS):
            for handle in handles:
                with contextlib.suppress(ray.exceptions.RayTaskError):
                    handle.remote(i).result()
        yield
    finally:
        for name in ("always-fails", "fails-on-odd"):
            serve.delete(name, _blocking=False)


def scraped() -> dict[tuple[str, str], float]:
    """(series, deployment) -> value of Serve's request and error counters, summed over the other labels."""
    (node,) = [n for n in ray.nodes() if n["Alive"]]
    with urllib.request.urlopen(f"http://{node['NodeManagerAddress']}:{node['MetricsExportPort']}/metrics") as r:
        text = r.read().decode()
    values: dict[tuple[str, str], float] = defaultdict(float)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in (REQUESTS, ERRORS) and sample.labels.get("deployment") in ("AlwaysFails", "FailsOnOdd"):
                values[(sample.name, sample.labels["deployment"])] += sample.value
    return values


def scraped_once_reported(within_s: float = 90.0) -> dict[tuple[str, str], float]:
    """The counters once every call is in them (replicas report every few seconds)."""
    deadline = time.monotonic() + within_s
    while True:
        values = scraped()
        handled = sum(values.values())
        if handled >= 2 * CALLS or time.monotonic() > deadline:
            assert handled == 2 * CALLS, values
            return values
        time.sleep(2)


def test_a_deployment_failing_every_request_exports_errors_and_no_request_counter(failing_apps):
    values = scraped_once_reported()
    assert values[(ERRORS, "AlwaysFails")] == CALLS
    assert (REQUESTS, "AlwaysFails") not in values
    assert (values[(REQUESTS, "FailsOnOdd")], values[(ERRORS, "FailsOnOdd")]) == (CALLS / 2, CALLS / 2)


def test_the_serve_error_alert_reads_the_share_of_requests_that_failed(failing_apps):
    # Before, errors over the request counter: no value at all for AlwaysFails (it never alerted) and 100% for
    # FailsOnOdd. Counters start at 0 with the replicas, so their totals' ratio is the rule's ratio of rates.
    numerator, denominator = serve_error_ratio_series()
    values = scraped_once_reported()
    ratios = {}
    for deployment in ("AlwaysFails", "FailsOnOdd"):
        below = sum(values.get((series, deployment), 0.0) for series in denominator)
        ratios[deployment] = sum(values.get((s, deployment), 0.0) for s in numerator) / below if below else None
    assert ratios == {"AlwaysFails": 1.0, "FailsOnOdd": 0.5}
