"""The jobs in cluster/: the scheduled ERP syncs and maintenance, the on-demand training and migration jobs."""

from __future__ import annotations

import ast
import re
import subprocess

import pytest

from deployments.jobs import JOBS
from tests.cluster.cluster_support import (
    KUSTOMIZE_TARGETS,
    REPO,
    Manifest,
    env_of,
    parse_module,
    ray_containers,
    rayservice,
)


def erp_due_sync(manifests: list[Manifest]) -> Manifest:
    (cron,) = [m for m in manifests if m["metadata"]["name"] == "chainsight-integrations-due-sync"]
    return cron


def test_erp_due_sync_runs_the_due_sync_job_every_quarter_hour(rendered: dict[str, list[Manifest]]) -> None:
    cron = erp_due_sync(rendered["base"])
    assert cron["spec"]["schedule"] == "*/15 * * * *"
    python, flag, module, job, *options = cron["spec"]["jobTemplate"]["entrypoint"].split()
    assert (python, flag, module, job) == ("python", "-m", "deployments.jobs", "integrations-sync")
    source = (REPO / (JOBS[job].module.replace(".", "/") + ".py")).read_text()
    assert all(f'"{option}"' in source for option in options) and options == ["--due"]


def shell_commands(entrypoint: str) -> list[list[str]]:
    """The commands of a shell entrypoint, each as its words, less the plumbing of exit statuses."""
    commands = [command.split() for command in re.split(r"&&|;", entrypoint) if command.strip()]
    return [c for c in commands if not re.fullmatch(r"\w+=\$\?", c[0]) and c[:1] != ["exit"]]


def entrypoints(manifest: Manifest) -> list[list[str]]:
    """The commands a RayJob, a RayCronJob or a CronJob starts, each as its words."""
    spec = manifest.get("spec", {})
    if manifest["kind"] == "RayJob":
        return shell_commands(spec["entrypoint"])
    if manifest["kind"] == "RayCronJob":
        return shell_commands(spec["jobTemplate"]["entrypoint"])
    if manifest["kind"] == "CronJob":
        return [c["command"] for c in spec["jobTemplate"]["spec"]["template"]["spec"]["containers"]]
    return []


@pytest.mark.parametrize("target", [*KUSTOMIZE_TARGETS, "jobs"])
def test_every_scheduled_or_submitted_job_runs_a_named_job_of_the_one_jobs_command(
    target: str, rendered: dict[str, list[Manifest]]
) -> None:
    commands = [command for manifest in rendered[target] for command in entrypoints(manifest)]
    assert commands
    for command in commands:
        assert command[:3] == ["python", "-m", "deployments.jobs"] and command[3] in JOBS, command


def test_erp_due_sync_reads_the_credentials_key_from_the_app_secret(rendered: dict[str, list[Manifest]]) -> None:
    for group, container in ray_containers(erp_due_sync(rendered["base"])):
        key = env_of(container)["INTEGRATIONS_ENCRYPTION_KEY"]["valueFrom"]["secretKeyRef"]
        assert (key["name"], key["key"]) == ("chainsight-secrets", "INTEGRATIONS_ENCRYPTION_KEY"), group


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_only_development_suspends_the_erp_due_syncs(target: str, rendered: dict[str, list[Manifest]]) -> None:
    assert erp_due_sync(rendered[target])["spec"].get("suspend", False) is (target == "overlays/dev")


def test_on_demand_jobs_get_a_new_name_at_each_submission(rendered: dict[str, list[Manifest]]) -> None:
    assert rendered["jobs"]
    assert all(m["metadata"]["generateName"].endswith("-") and "name" not in m["metadata"] for m in rendered["jobs"])


def test_training_cluster_is_deleted_when_the_job_ends(rendered: dict[str, list[Manifest]]) -> None:
    (job,) = [m for m in rendered["jobs"] if m["kind"] == "RayJob"]
    assert job["spec"]["shutdownAfterJobFinishes"] is True


def test_migration_job_runs_a_command_the_cli_has(rendered: dict[str, list[Manifest]]) -> None:
    (job,) = [m for m in rendered["jobs"] if m["kind"] == "Job"]
    program, command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    cli_functions = {n.name for n in parse_module("deployments.cli").body if isinstance(n, ast.FunctionDef)}
    assert program == "chainsight"
    assert command in cli_functions


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_every_target_schedules_the_maintenance_job_with_the_release_image(
    target: str, rendered: dict[str, list[Manifest]]
) -> None:
    (cron,) = [m for m in rendered[target] if m["kind"] == "CronJob"]
    (container,) = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "-m", "deployments.jobs", "maintenance"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    (rayservice_image,) = {
        c["image"] for _, c in ray_containers(rayservice(rendered[target])) if "gpu" not in c["image"]
    }
    assert container["image"] == rayservice_image


def nightly_entrypoint(rendered: dict[str, list[Manifest]]) -> str:
    (cron,) = [m for m in rendered["base"] if m["metadata"]["name"] == "chainsight-nightly-batch"]
    entrypoint: str = cron["spec"]["jobTemplate"]["entrypoint"]
    return entrypoint


def kuberay_submitter(tmp_path, entrypoint: str) -> tuple[list[str], list[str]]:
    """What KubeRay's submitter does with an entrypoint: it pastes it unquoted into one shell script after
    ``ray job submit ... --`` (kuberay ``BuildJobSubmitCommand``). Stand-ins record (the words ``ray`` was given,
    the words ``python`` was run with in the submitter pod)."""
    for program in ("ray", "python"):
        stand_in = tmp_path / program
        stand_in.write_text(f'#!/bin/sh\necho "$*" >> "{tmp_path}/{program}.log"\n')
        stand_in.chmod(0o755)
    script = f"ray job submit --address http://head:8265 --no-wait --submission-id night -- {entrypoint} ;"
    subprocess.run(["/bin/bash", "-ce", script], env={"PATH": f"{tmp_path}:/usr/bin:/bin"}, check=False)
    logs = [tmp_path / f"{program}.log" for program in ("ray", "python")]
    return tuple(log.read_text().splitlines() if log.exists() else [] for log in logs)  # type: ignore[return-value]


def test_the_nightly_entrypoint_reaches_ray_whole_through_kuberays_submitter(
    rendered: dict[str, list[Manifest]], tmp_path
) -> None:
    # Before, the entrypoint joined two jobs with `;` and `&&`: KubeRay's script submitted only the batch
    # forecast and ran the early warning in the submitter pod, which has no database settings.
    entrypoint = nightly_entrypoint(rendered)
    submitted, run_in_submitter = kuberay_submitter(tmp_path, entrypoint)
    assert submitted == [f"job submit --address http://head:8265 --no-wait --submission-id night -- {entrypoint}"]
    assert run_in_submitter == []
    assert entrypoint.split()[:4] == ["python", "-m", "deployments.jobs", "nightly"]
