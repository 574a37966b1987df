"""The Grafana dashboard and Prometheus alert rules in cluster/monitoring query series that exist."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster.cluster_support import CLUSTER, REPO, Manifest, serve_error_ratio_series

EXPECTED_ALERTS = {
    "ChainsightHighErrorRate",
    "ChainsightHighP99Latency",
    "ChainsightServeDeploymentErrors",
    "ChainsightServeReplicaRestarts",
    "ChainsightRayPodRestarts",
    "ChainsightForecastDrift",
}
# Series suffixes Prometheus exposes for counters and histograms.
SUFFIXES = ("_total", "_bucket", "_sum", "_count")


def dashboard_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    panels = []
    for panel in dashboard["panels"]:
        panels += panel.get("panels", []) if panel["type"] == "row" else [panel]
    return panels


def dashboard_exprs(dashboard: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in dashboard_panels(dashboard) for t in p["targets"]]


def metric_names(exprs: list[str], prefix: str) -> set[str]:
    return {name for expr in exprs for name in re.findall(rf"\b{prefix}[a-z0-9_]+\b", expr)}


def family(series: str) -> str:
    """`x_bucket` -> `x`: the name the metric was created with."""
    for suffix in SUFFIXES:
        if series.endswith(suffix):
            return series.removesuffix(suffix)
    return series


def chainsight_metrics_in_code() -> set[str]:
    """Families of the prometheus_client and Ray metrics constructed under common/ and training/ (Counter names
    lose `_total`)."""
    names = set()
    for path in [*(REPO / "common").rglob("*.py"), *(REPO / "training").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and ast.unparse(node.func).split(".")[-1] in ("Counter", "Gauge", "Histogram", "Summary")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                names.add(family(node.args[0].value))
    return names


def ray_metric_patterns() -> list[re.Pattern[str]]:
    """Metrics Ray's installed Serve and dashboard code creates, as patterns (f-string parts match a word)."""
    spec = importlib.util.find_spec("ray")
    assert spec is not None and spec.origin is not None, "ray is not installed"
    root = Path(spec.origin).parent
    created = re.compile(r"\b(?:Counter|Gauge|Histogram)\(\s*(?:name\s*=\s*)?f?[\"']([a-z_{}]+)[\"']")
    patterns = set()
    for directory in ("serve", "dashboard"):
        for path in (root / directory).rglob("*.py"):
            for name in created.findall(path.read_text(errors="replace")):
                patterns.add(re.sub(r"\\\{\w+\\\}", "[a-z]+", re.escape(name)))
    return [re.compile(p) for p in patterns]


def test_grafana_dashboard_has_panels_that_all_query_prometheus(grafana_dashboard: dict[str, Any]) -> None:
    panels = dashboard_panels(grafana_dashboard)
    assert panels
    assert all(p["targets"] and all(t["expr"].strip() for t in p["targets"]) for p in panels)


def test_grafana_panels_do_not_overlap(grafana_dashboard: dict[str, Any]) -> None:
    cells: set[tuple[int, int]] = set()
    for panel in grafana_dashboard["panels"]:
        g = panel["gridPos"]
        area = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not cells & area, panel["title"]
        cells |= area


@pytest.mark.parametrize(
    "series",
    [
        "chainsight_http_requests_total",
        "chainsight_http_request_duration_seconds_bucket",
        "ray_serve_deployment_request_counter_total",
        "ray_serve_deployment_error_counter_total",
        "ray_serve_deployment_processing_latency_ms_bucket",
        "ray_serve_deployment_replica_healthy",
        "ray_node_cpu_utilization",
        "ray_cluster_active_nodes",
    ],
)
def test_grafana_dashboard_charts(series: str, grafana_dashboard: dict[str, Any]) -> None:
    assert any(re.search(rf"\b{series}\b", expr) for expr in dashboard_exprs(grafana_dashboard))


def test_serve_panels_break_down_by_deployment(grafana_dashboard: dict[str, Any]) -> None:
    serve_exprs = [e for e in dashboard_exprs(grafana_dashboard) if "ray_serve_deployment_" in e]
    assert serve_exprs
    assert all("deployment" in re.findall(r"by \(([^)]*)\)", e)[0] for e in serve_exprs)


def test_alert_rules_define_the_expected_alerts(alert_rules: list[Manifest]) -> None:
    assert {r["alert"] for r in alert_rules} == EXPECTED_ALERTS


def test_every_alert_has_a_severity_and_a_summary(alert_rules: list[Manifest]) -> None:
    for rule in alert_rules:
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]


def test_alert_rules_are_a_prometheus_rule_resource() -> None:
    rule = yaml.safe_load((CLUSTER / "monitoring" / "prometheusrule.yaml").read_text())
    assert (rule["apiVersion"], rule["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")


def test_queried_application_metrics_are_defined_in_the_code(
    grafana_dashboard: dict[str, Any], alert_rules: list[Manifest]
) -> None:
    exprs = dashboard_exprs(grafana_dashboard) + [r["expr"] for r in alert_rules]
    queried = {family(name) for name in metric_names(exprs, "chainsight_")}
    assert queried
    assert queried <= chainsight_metrics_in_code()


def test_queried_ray_metrics_exist_in_the_installed_ray(
    grafana_dashboard: dict[str, Any], alert_rules: list[Manifest]
) -> None:
    exprs = dashboard_exprs(grafana_dashboard) + [r["expr"] for r in alert_rules]
    patterns = ray_metric_patterns()
    unknown = [
        name
        for name in sorted(metric_names(exprs, "ray_"))
        if not any(p.fullmatch(candidate) for p in patterns for candidate in {name[4:], family(name[4:])})
    ]
    assert not unknown


def test_replica_starts_are_counted_as_new_series_not_by_rate(
    grafana_dashboard: dict[str, Any], alert_rules: list[Manifest]
) -> None:
    # Before, increase() over the starts counter: each replica's series appears at 1 and never rises, so the
    # restart alert could not fire and the panel read 0.
    exprs = [e for e in dashboard_exprs(grafana_dashboard) + [r["expr"] for r in alert_rules] if "replica_starts" in e]
    assert len(exprs) == 2
    for expr in exprs:
        assert not re.search(r"(rate|increase)\(\s*ray_serve_deployment_replica_starts", expr)
        assert "unless" in expr and "offset 15m" in expr


def test_the_latency_alert_leaves_out_streams_and_model_routes(alert_rules: list[Manifest]) -> None:
    # Before, every route but "unmatched": a copilot answer, timed to its last token, paged as slow.
    (rule,) = [r for r in alert_rules if r["alert"] == "ChainsightHighP99Latency"]
    (excluded,) = re.findall(r'route!~"([^"]+)"', rule["expr"])
    pattern = re.compile(f"^(?:{excluded})$")
    for route in ("/api/v1/ai/copilot/ask", "/api/v1/ai/llm/chat/completions", "/api/v1/exports/{name}", "unmatched"):
        assert pattern.match(route), route
    assert not pattern.match("/api/v1/stock-levels")


SERVE_OUTCOMES = {"ray_serve_deployment_request_counter_total", "ray_serve_deployment_error_counter_total"}


def test_the_serve_error_alert_divides_by_failed_and_succeeded_requests() -> None:
    # Ray 2.60 counts a request in ray_serve_deployment_request_counter only when it succeeds, and a failed one in
    # the error counter only. Before, the alert divided errors by the request counter alone: a deployment failing
    # every request had no denominator (no alert ever), and one failing half of them read 100%.
    # tests/deployments/test_serve_error_metrics.py checks the same against what a failing deployment exports.
    assert serve_error_ratio_series() == ({"ray_serve_deployment_error_counter_total"}, SERVE_OUTCOMES)


def test_the_serve_error_alert_does_not_count_cancelled_requests_as_failures() -> None:
    # Ray 2.60 counts a cancelled request (client gone, Serve's timeout) in the error counter with exception_type
    # CancelledError; until 2026-12-08 the alert counted it as a failure, so clients leaving paged as errors.
    spec = yaml.safe_load((CLUSTER / "monitoring" / "prometheusrule.yaml").read_text())["spec"]
    (rule,) = [r for g in spec["groups"] for r in g["rules"] if r.get("alert") == "ChainsightServeDeploymentErrors"]
    numerator = re.split(r"^\s*/\s*$", rule["expr"], flags=re.MULTILINE)[0]
    assert re.search(r'ray_serve_deployment_error_counter_total\{exception_type!="CancelledError"\}', numerator)


def test_the_serve_requests_panel_counts_failed_requests_too(grafana_dashboard: dict[str, Any]) -> None:
    (panel,) = [p for p in dashboard_panels(grafana_dashboard) if p["title"].startswith("Requests per second per dep")]
    assert metric_names([t["expr"] for t in panel["targets"]], "ray_serve_") == SERVE_OUTCOMES
