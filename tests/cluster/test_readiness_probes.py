"""Kubernetes sends traffic to a Serve worker only while the application's /readyz passes there; liveness
stays on the raylet, so a database outage never restarts pods."""

from __future__ import annotations

import pytest
import yaml

from tests.cluster.cluster_support import KUSTOMIZE_TARGETS, Manifest, ray_containers


def rayservice(manifests: list[Manifest]) -> Manifest:
    (service,) = [m for m in manifests if m["kind"] == "RayService"]
    return service


def probe_text(probe: Manifest) -> str:
    if "exec" in probe:
        return " ".join(probe["exec"]["command"])
    return f"{probe['httpGet']['port']}{probe['httpGet']['path']}"


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_serve_workers_are_ready_only_while_the_app_readyz_passes_through_their_proxy(
    target: str, rendered: dict[str, list[Manifest]]
) -> None:
    service = rayservice(rendered[target])
    port = yaml.safe_load(service["spec"]["serveConfigV2"])["http_options"]["port"]
    workers = [(group, c) for group, c in ray_containers(service) if group != "head"]
    assert workers
    for group, container in workers:
        assert f"http://localhost:{port}/readyz" in probe_text(container["readinessProbe"]), group


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_liveness_never_depends_on_the_database(target: str, rendered: dict[str, list[Manifest]]) -> None:
    for group, container in ray_containers(rayservice(rendered[target])):
        assert "readyz" not in probe_text(container["livenessProbe"]), group


def test_the_readiness_probe_outlasts_the_apps_own_readiness_timeout(rendered: dict[str, list[Manifest]]) -> None:
    from deployments.api.app import READINESS_TIMEOUT_S

    for group, container in ray_containers(rayservice(rendered["base"])):
        if group != "head":
            assert container["readinessProbe"]["timeoutSeconds"] > READINESS_TIMEOUT_S, group
