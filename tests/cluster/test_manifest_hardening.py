"""Hardening of the manifests in cluster/: secrets come from Secrets (only the dev overlay ships placeholder
ones), containers have probes and bounded resources and run as non-root, overlays set their own images, every
Ray cluster requires Ray's token and a NetworkPolicy keeps Ray's control ports inside the namespace."""

from __future__ import annotations

import kubernetes_validate
import pytest

from tests.cluster.cluster_support import (
    ALL_TARGETS,
    KUSTOMIZE_TARGETS,
    OVERLAYS,
    Manifest,
    env_of,
    ray_cluster_spec,
    ray_containers,
    ray_manifests,
    rayservice,
)

KUBERNETES_VERSION = "1.33.0"
# The GCS, the Ray Client server and the dashboard with its job-submission API.
RAY_CONTROL_PORTS = {6379, 10001, 8265}
DASHBOARD_PORT = 8265
KUBERAY_OPERATOR_POD = {"app.kubernetes.io/component": "kuberay-operator"}

APP_SECRET_KEYS = (
    "DATABASE_URL",
    "SUPABASE_URL",
    "SUPABASE_JWT_SECRET",
    "SUPABASE_JWKS_URL",
    "INTEGRATIONS_ENCRYPTION_KEY",  # connectors and carrier webhook keys: 503 without it
)


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_serve_workers_read_application_secrets_from_chainsight_secrets(
    target: str, rendered: dict[str, list[Manifest]]
) -> None:
    for group, container in ray_containers(rayservice(rendered[target])):
        if group == "head":
            continue
        env = env_of(container)
        for key in APP_SECRET_KEYS:
            assert env[key]["valueFrom"]["secretKeyRef"]["name"] == "chainsight-secrets", (group, key)
            assert env[key]["valueFrom"]["secretKeyRef"]["key"] == key, (group, key)


@pytest.mark.parametrize("target", ALL_TARGETS)
def test_no_secret_value_is_written_into_a_ray_resource(target: str, rendered: dict[str, list[Manifest]]) -> None:
    for manifest in ray_manifests(rendered[target]):
        for group, container in ray_containers(manifest):
            env = env_of(container)
            inline = [k for k in (*APP_SECRET_KEYS, "REDIS_PASSWORD") if k in env and "value" in env[k]]
            assert not inline, (manifest["kind"], group, inline)


@pytest.mark.parametrize("target", ALL_TARGETS)
def test_every_container_has_probes_and_bounded_resources(target: str, rendered: dict[str, list[Manifest]]) -> None:
    containers = [
        (f"{m['kind']}/{group}", c) for m in ray_manifests(rendered[target]) for group, c in ray_containers(m)
    ]
    containers += [
        (f"Deployment/{m['metadata']['name']}", c)
        for m in rendered[target]
        if m["kind"] == "Deployment"
        for c in m["spec"]["template"]["spec"]["containers"]
    ]
    for where, container in containers:
        assert {"readinessProbe", "livenessProbe"} <= set(container), where
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]), where
        assert {"cpu", "memory"} <= set(container["resources"]["limits"]), where


@pytest.mark.parametrize("target", ALL_TARGETS)
def test_pods_run_as_non_root(target: str, rendered: dict[str, list[Manifest]]) -> None:
    templates = [
        group["template"]
        for m in ray_manifests(rendered[target])
        for group in [ray_cluster_spec(m)["headGroupSpec"], *ray_cluster_spec(m).get("workerGroupSpecs", [])]
    ]
    templates += [m["spec"]["template"] for m in rendered[target] if m["kind"] == "Deployment"]
    assert templates
    assert all(t["spec"]["securityContext"]["runAsNonRoot"] is True for t in templates)


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_only_development_runs_with_development_settings(target: str, rendered: dict[str, list[Manifest]]) -> None:
    expected = "development" if target == "overlays/dev" else "production"
    (cpu,) = [c for group, c in ray_containers(rayservice(rendered[target])) if group == "cpu"]
    assert env_of(cpu)["ENVIRONMENT"]["value"] == expected


@pytest.mark.parametrize("target", [t for t in KUSTOMIZE_TARGETS if t != "overlays/dev"])
def test_only_the_dev_overlay_ships_secrets(target: str, rendered: dict[str, list[Manifest]]) -> None:
    assert not [m for m in rendered[target] if m["kind"] == "Secret"]


def test_dev_secrets_hold_only_placeholders_that_production_refuses(rendered: dict[str, list[Manifest]]) -> None:
    from common.config import PLACEHOLDER_MARKERS

    secrets = [m for m in rendered["overlays/dev"] if m["kind"] == "Secret"]
    assert {s["metadata"]["name"] for s in secrets} == {"chainsight-secrets", "chainsight-redis"}
    values = [v for s in secrets for v in s["stringData"].values()]
    assert all(any(marker in v.lower() for marker in PLACEHOLDER_MARKERS) for v in values)


@pytest.mark.parametrize("target", OVERLAYS)
def test_overlays_set_the_image_of_every_ray_container(target: str, rendered: dict[str, list[Manifest]]) -> None:
    base_images = {c["image"] for m in ray_manifests(rendered["base"]) for _, c in ray_containers(m)}
    images = {c["image"] for m in ray_manifests(rendered[target]) for _, c in ray_containers(m)}
    assert not images & base_images


@pytest.mark.parametrize("target", ALL_TARGETS)
def test_every_ray_cluster_requires_ray_token_authentication(target: str, rendered: dict[str, list[Manifest]]) -> None:
    # Before, none did: `ray start` ran with authentication off, so any pod that reached a head's 8265 could
    # submit a job and read DATABASE_URL, SUPABASE_JWT_SECRET and INTEGRATIONS_ENCRYPTION_KEY on the workers.
    manifests = ray_manifests(rendered[target])
    assert manifests
    for manifest in manifests:
        assert ray_cluster_spec(manifest).get("authOptions", {}).get("mode") == "token", manifest["metadata"]


def _network_policies(manifests: list[Manifest]) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == "NetworkPolicy"]


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_network_policies_validate_against_the_kubernetes_schema(
    target: str, rendered: dict[str, list[Manifest]]
) -> None:
    policies = _network_policies(rendered[target])
    assert policies
    for policy in policies:
        kubernetes_validate.validate(policy, KUBERNETES_VERSION, strict=True)


def _ray_pod_policy(manifests: list[Manifest]) -> Manifest:
    (policy,) = [
        p
        for p in _network_policies(manifests)
        if {"key": "ray.io/node-type", "operator": "Exists"} in p["spec"]["podSelector"].get("matchExpressions", [])
    ]
    return policy


def _admits_other_namespaces(rule: Manifest) -> bool:
    # No `from` admits everyone; a peer with a namespaceSelector or an ipBlock reaches beyond this namespace.
    return "from" not in rule or any("namespaceSelector" in peer or "ipBlock" in peer for peer in rule["from"])


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_ray_control_ports_admit_only_this_namespace_and_the_dashboard_the_kuberay_operator(
    target: str, rendered: dict[str, list[Manifest]]
) -> None:
    policy = _ray_pod_policy(rendered[target])
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    for rule in policy["spec"]["ingress"]:
        if not _admits_other_namespaces(rule):
            continue
        ports = {p["port"] for p in rule.get("ports", [])}
        assert ports, f"a rule admits other namespaces on every port: {rule}"
        if ports & RAY_CONTROL_PORTS:
            assert ports == {DASHBOARD_PORT}, rule
            assert all(peer.get("podSelector", {}).get("matchLabels") == KUBERAY_OPERATOR_POD for peer in rule["from"])


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_redis_admits_only_this_namespace_on_its_port(target: str, rendered: dict[str, list[Manifest]]) -> None:
    # Before 2026-12-08 no policy selected the Redis pod: any pod of the cluster could reach the GCS's metadata store.
    (redis,) = [
        m for m in rendered[target] if m["kind"] == "Deployment" and m["metadata"]["name"] == "chainsight-redis"
    ]
    pod_labels = redis["spec"]["template"]["metadata"]["labels"]
    (policy,) = [
        p
        for p in _network_policies(rendered[target])
        if p["spec"]["podSelector"].get("matchLabels", {}).items() <= pod_labels.items()
        and p["spec"]["podSelector"].get("matchLabels")
    ]
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    (rule,) = policy["spec"]["ingress"]
    assert not _admits_other_namespaces(rule)
    assert rule["ports"] == [{"protocol": "TCP", "port": 6379}]
