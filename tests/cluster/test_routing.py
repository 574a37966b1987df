"""Outside traffic on Kubernetes: the Gateway API route and the Ingress alternative in cluster/components.

Valid against the upstream schemas (Gateway API CRDs, Kubernetes' own for Ingress), aimed at the Service
KubeRay creates for the Serve proxies, with TLS from cert-manager, stream-length timeouts on the streaming
routes and a body limit that matches the application's.
"""

from __future__ import annotations

import re

import kubernetes_validate
import pytest
import yaml
from jsonschema import Draft202012Validator

from tests.cluster.cluster_support import KUSTOMIZE_TARGETS, Manifest

GATEWAY_KINDS = ("Gateway", "HTTPRoute")
# The routes that stream (Server-Sent Events, the WebSocket): they must outlive a JSON request's timeout.
STREAMING_PATHS = ("/api/v1/ai/copilot/ask", "/api/v1/ai/llm/chat/completions", "/api/v1/events")
MIN_STREAM_S = 300
KUBERNETES_VERSION = "1.33.0"


def of_kind(manifests: list[Manifest], *kinds: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] in kinds]


def serve_service(manifests: list[Manifest]) -> tuple[str, int]:
    """The Service KubeRay creates for a RayService's Serve proxies, and the port Serve listens on."""
    (service,) = of_kind(manifests, "RayService")
    port = yaml.safe_load(service["spec"]["serveConfigV2"])["http_options"]["port"]
    return f"{service['metadata']['name']}-serve-svc", port


def seconds(duration: str) -> int:
    """A Gateway API duration (e.g. 1h, 10m, 90s, 1m30s) in seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return int(sum(int(n) * units[u] for n, u in re.findall(r"(\d+)(ms|h|m|s)", duration)))


def app_paths() -> set[str]:
    from common.config import Settings
    from deployments.api.app import create_api

    return {getattr(route, "path", "") for route in create_api(Settings(_env_file=None)).routes}  # type: ignore[call-arg]


def path_matches(kind: str, value: str, path: str) -> bool:
    """Gateway API and Ingress path matching: Exact, or a prefix of whole path elements."""
    if kind == "Exact":
        return path == value
    prefix = value.rstrip("/")
    return path == prefix or path.startswith(prefix + "/")


def publicly_routed(manifest: Manifest, path: str) -> bool:
    if manifest["kind"] == "HTTPRoute":
        matches = [m["path"] for rule in manifest["spec"]["rules"] for m in rule["matches"]]
        return any(path_matches(m["type"], m["value"], path) for m in matches)
    paths = [p for rule in manifest["spec"]["rules"] for p in rule["http"]["paths"]]
    return any(path_matches(p["pathType"], p["path"], path) for p in paths)


def largest_body_the_app_accepts() -> int:
    from common.config import Settings

    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    return max(settings.risk_import_max_bytes, settings.copilot_max_upload_bytes)


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_gateway_api_resources_validate_against_the_upstream_crds(
    target: str, rendered: dict[str, list[Manifest]], gateway_validators: dict[tuple[str, str], Draft202012Validator]
) -> None:
    problems = []
    for manifest in of_kind(rendered[target], *GATEWAY_KINDS):
        validator = gateway_validators[(manifest["apiVersion"], manifest["kind"])]
        for error in validator.iter_errors(manifest):
            problems.append(f"{manifest['kind']} at /{'/'.join(map(str, error.absolute_path))}: {error.message}")
    assert not problems, "\n".join(problems)


def test_strict_gateway_validation_refuses_a_misspelt_field(
    rendered: dict[str, list[Manifest]], gateway_validators: dict[tuple[str, str], Draft202012Validator]
) -> None:
    (route,) = of_kind(rendered["overlays/prod"], "HTTPRoute")
    route["spec"]["rules"][0]["timeout"] = {"request": "10m"}
    assert not gateway_validators[("gateway.networking.k8s.io/v1", "HTTPRoute")].is_valid(route)


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_ingresses_validate_against_the_kubernetes_schema(target: str, rendered: dict[str, list[Manifest]]) -> None:
    for ingress in of_kind(rendered[target], "Ingress"):
        kubernetes_validate.validate(ingress, KUBERNETES_VERSION, strict=True)


def test_strict_ingress_validation_refuses_a_misspelt_field(rendered: dict[str, list[Manifest]]) -> None:
    (ingress,) = of_kind(rendered["overlays/staging"], "Ingress")
    ingress["spec"]["ingressClass"] = "nginx"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(ingress, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("target", [t for t in KUSTOMIZE_TARGETS if t.startswith("overlays/") and t != "overlays/dev"])
def test_every_deployed_environment_routes_outside_traffic_one_way(
    target: str, rendered: dict[str, list[Manifest]]
) -> None:
    routes, ingresses = of_kind(rendered[target], "HTTPRoute"), of_kind(rendered[target], "Ingress")
    assert len(routes) + len(ingresses) == 1, "exactly one of the Gateway API route and the Ingress"


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_routes_send_traffic_to_the_serve_service_kuberay_creates(
    target: str, rendered: dict[str, list[Manifest]]
) -> None:
    manifests = rendered[target]
    expected = serve_service(manifests)
    for route in of_kind(manifests, "HTTPRoute"):
        backends = {(b["name"], b["port"]) for rule in route["spec"]["rules"] for b in rule["backendRefs"]}
        assert backends == {expected}
    for ingress in of_kind(manifests, "Ingress"):
        services = [p["backend"]["service"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]]
        assert {(s["name"], s["port"]["number"]) for s in services} == {expected}


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_the_http_route_attaches_to_an_https_listener_whose_certificate_cert_manager_issues(
    target: str, rendered: dict[str, list[Manifest]]
) -> None:
    gateways = {g["metadata"]["name"]: g for g in of_kind(rendered[target], "Gateway")}
    for route in of_kind(rendered[target], "HTTPRoute"):
        for parent in route["spec"]["parentRefs"]:
            gateway = gateways[parent["name"]]
            (listener,) = [item for item in gateway["spec"]["listeners"] if item["name"] == parent["sectionName"]]
            assert listener["protocol"] == "HTTPS" and listener["tls"]["mode"] == "Terminate"
            assert listener["tls"]["certificateRefs"][0]["name"]
            assert listener["hostname"] in route["spec"]["hostnames"]
            assert gateway["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_ingress_tls_is_issued_by_cert_manager_for_every_host(target: str, rendered: dict[str, list[Manifest]]) -> None:
    for ingress in of_kind(rendered[target], "Ingress"):
        assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
        tls_hosts = {host for tls in ingress["spec"]["tls"] for host in tls["hosts"]}
        assert all(tls["secretName"] for tls in ingress["spec"]["tls"])
        assert {rule["host"] for rule in ingress["spec"]["rules"]} <= tls_hosts


def test_the_streaming_paths_are_routes_of_the_application() -> None:
    assert set(STREAMING_PATHS) <= app_paths()


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_streaming_routes_outlive_ordinary_request_timeouts(target: str, rendered: dict[str, list[Manifest]]) -> None:
    for route in of_kind(rendered[target], "HTTPRoute"):
        for path in STREAMING_PATHS:
            # The rule whose match covers the path is the one the Gateway applies (longest prefix wins across
            # rules).
            rules = [
                rule
                for rule in route["spec"]["rules"]
                for match in rule["matches"]
                if (match["path"]["type"] == "Exact" and match["path"]["value"] == path)
                or (match["path"]["type"] == "PathPrefix" and path.startswith(match["path"]["value"]))
            ]
            rule = max(rules, key=lambda r: max(len(m["path"]["value"]) for m in r["matches"]))
            assert seconds(rule["timeouts"]["request"]) >= MIN_STREAM_S, path
            assert seconds(rule["timeouts"]["backendRequest"]) >= MIN_STREAM_S, path
    for ingress in of_kind(rendered[target], "Ingress"):
        annotations = ingress["metadata"]["annotations"]
        assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= MIN_STREAM_S
        assert int(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= MIN_STREAM_S
        assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"  # SSE chunks pass as sent


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_the_ingress_body_limit_is_the_largest_body_the_application_accepts(
    target: str, rendered: dict[str, list[Manifest]]
) -> None:
    for ingress in of_kind(rendered[target], "Ingress"):
        limit = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
        assert re.fullmatch(r"\d+m", limit)
        assert int(limit[:-1]) * 1024 * 1024 == largest_body_the_app_accepts()


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_outside_traffic_reaches_every_route_of_the_application_but_metrics(
    target: str, rendered: dict[str, list[Manifest]]
) -> None:
    # Before, both forwarded `/` and everything under it: anyone on the internet read a replica's /metrics
    # (request counts and latencies of every route), which Prometheus never scrapes there.
    public = [path for path in app_paths() if path != "/metrics"]
    for manifest in of_kind(rendered[target], "HTTPRoute", "Ingress"):
        assert not publicly_routed(manifest, "/metrics"), manifest["kind"]
        assert [path for path in public if not publicly_routed(manifest, path)] == [], manifest["kind"]
