"""The KubeRay resources in cluster/: valid against the CRDs, rendered as kustomize renders them, and the Ray
clusters they start (versions, head and worker groups, GCS fault tolerance, Serve's proxy mode)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml
from jsonschema import Draft202012Validator

from tests.cluster.cluster_support import (
    ALL_TARGETS,
    CLUSTER,
    KUSTOMIZE_TARGETS,
    Manifest,
    env_of,
    pinned_versions,
    ray_cluster_spec,
    ray_containers,
    ray_manifests,
    rayservice,
    render,
)


@pytest.mark.parametrize("target", ALL_TARGETS)
def test_ray_resources_validate_against_the_kuberay_crds(
    target: str, rendered: dict[str, list[Manifest]], crd_validators: dict[tuple[str, str], Draft202012Validator]
) -> None:
    resources = ray_manifests(rendered[target])
    assert resources, f"{target} renders no Ray resource"
    problems = []
    for manifest in resources:
        validator = crd_validators[(manifest["apiVersion"], manifest["kind"])]
        name = manifest["metadata"].get("name") or manifest["metadata"].get("generateName")
        for error in validator.iter_errors(manifest):
            problems.append(f"{manifest['kind']}/{name} at /{'/'.join(map(str, error.absolute_path))}: {error.message}")
    assert not problems, "\n".join(problems)


def test_strict_validation_refuses_a_misspelt_field(
    crd_validators: dict[tuple[str, str], Draft202012Validator],
) -> None:
    service = rayservice(render(CLUSTER / "base"))
    service["spec"]["rayClusterConfig"]["enableInTreeAutoscalling"] = True
    assert not crd_validators[("ray.io/v1", "RayService")].is_valid(service)


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_each_target_runs_the_rayservice_the_nightly_batch_and_the_erp_due_syncs(
    target: str, rendered: dict[str, list[Manifest]]
) -> None:
    kinds = sorted((m["kind"], m["metadata"]["name"]) for m in ray_manifests(rendered[target]))
    assert kinds == [
        ("RayCronJob", "chainsight-integrations-due-sync"),
        ("RayCronJob", "chainsight-nightly-batch"),
        ("RayService", "chainsight"),
    ]


@pytest.mark.parametrize("target", ALL_TARGETS)
def test_ray_version_is_the_one_pyproject_pins(target: str, rendered: dict[str, list[Manifest]]) -> None:
    versions = {ray_cluster_spec(m)["rayVersion"] for m in ray_manifests(rendered[target])}
    assert versions == {pinned_versions()["ray"]}


@pytest.mark.parametrize("target", ALL_TARGETS)
def test_head_nodes_take_no_work(target: str, rendered: dict[str, list[Manifest]]) -> None:
    for manifest in ray_manifests(rendered[target]):
        assert ray_cluster_spec(manifest)["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_rayservice_autoscales_cpu_workers_and_starts_gpu_workers_at_zero(
    target: str, rendered: dict[str, list[Manifest]]
) -> None:
    cluster = ray_cluster_spec(rayservice(rendered[target]))
    groups = {g["groupName"]: g for g in cluster["workerGroupSpecs"]}
    assert cluster["enableInTreeAutoscaling"] is True
    assert 1 <= groups["cpu"]["minReplicas"] <= groups["cpu"]["maxReplicas"]
    assert groups["gpu"]["minReplicas"] == 0


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_gcs_fault_tolerance_uses_the_redis_service_and_a_secret_password(
    target: str, rendered: dict[str, list[Manifest]]
) -> None:
    options = ray_cluster_spec(rayservice(rendered[target]))["gcsFaultToleranceOptions"]
    host, port = options["redisAddress"].split(":")
    services = {m["metadata"]["name"]: m for m in rendered[target] if m["kind"] == "Service"}
    assert int(port) in [p["port"] for p in services[host]["spec"]["ports"]]
    assert options["redisPassword"]["valueFrom"]["secretKeyRef"] == {"name": "chainsight-redis", "key": "password"}


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_every_rayservice_node_runs_serve_in_high_throughput_mode(
    target: str, rendered: dict[str, list[Manifest]]
) -> None:
    for group, container in ray_containers(rayservice(rendered[target])):
        env = env_of(container)
        assert env["RAY_SERVE_ENABLE_HA_PROXY"]["value"] == "1", group
        assert env["RAY_SERVE_THROUGHPUT_OPTIMIZED"]["value"] == "1", group


def kustomize_command() -> list[str] | None:
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


@pytest.mark.skipif(kustomize_command() is None, reason="neither kustomize nor kubectl is installed")
@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_rendering_matches_kustomize(target: str, rendered: dict[str, list[Manifest]]) -> None:
    command = kustomize_command()
    assert command is not None
    output = subprocess.run([*command, str(CLUSTER / target)], capture_output=True, text=True, check=True).stdout

    def by_identity(manifests: list[Manifest]) -> dict[tuple[str, str], Manifest]:
        return {(m["kind"], m["metadata"]["name"]): m for m in manifests}

    assert by_identity([d for d in yaml.safe_load_all(output) if d]) == by_identity(rendered[target])
