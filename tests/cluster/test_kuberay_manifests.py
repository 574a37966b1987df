"""The KubeRay manifests in cluster/: valid against the CRDs, and consistent with the code they deploy."""

from __future__ import annotations

import ast
import shutil
import subprocess
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from tests.cluster.cluster_support import (
    CLUSTER,
    KUSTOMIZE_TARGETS,
    REPO,
    Manifest,
    env_of,
    pinned_versions,
    ray_cluster_spec,
    ray_containers,
    ray_manifests,
    render,
)

ALL_TARGETS = [*KUSTOMIZE_TARGETS, "jobs"]
OVERLAYS = [t for t in KUSTOMIZE_TARGETS if t.startswith("overlays/")]
APP_SECRET_KEYS = ("DATABASE_URL", "SUPABASE_URL", "SUPABASE_JWT_SECRET", "SUPABASE_JWKS_URL")


def rayservice(manifests: list[Manifest]) -> Manifest:
    (service,) = [m for m in manifests if m["kind"] == "RayService"]
    return service


def serve_config(manifests: list[Manifest]) -> dict[str, Any]:
    return yaml.safe_load(rayservice(manifests)["spec"]["serveConfigV2"])


def chainsight_app(manifests: list[Manifest]) -> dict[str, Any]:
    (app,) = [a for a in serve_config(manifests)["applications"] if a["name"] == "chainsight"]
    return app


def parse_module(dotted: str) -> ast.Module:
    return ast.parse((REPO / (dotted.replace(".", "/") + ".py")).read_text())


def serve_deployment_names_in_code() -> set[str]:
    """Names of `@serve.deployment` classes and functions in deployments/*.py (`name=` wins)."""
    names = set()
    for path in sorted((REPO / "deployments").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for decorator in node.decorator_list:
                call = decorator if isinstance(decorator, ast.Call) else None
                target = call.func if call else decorator
                if ast.unparse(target) not in ("serve.deployment", "deployment"):
                    continue
                named = [k.value for k in (call.keywords if call else []) if k.arg == "name"]
                names.add(named[0].value if named and isinstance(named[0], ast.Constant) else node.name)
    return names


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


def erp_due_sync(manifests: list[Manifest]) -> Manifest:
    (cron,) = [m for m in manifests if m["metadata"]["name"] == "chainsight-integrations-due-sync"]
    return cron


def test_erp_due_sync_runs_the_due_sync_job_every_quarter_hour(rendered: dict[str, list[Manifest]]) -> None:
    cron = erp_due_sync(rendered["base"])
    assert cron["spec"]["schedule"] == "*/15 * * * *"
    python, flag, module, *options = cron["spec"]["jobTemplate"]["entrypoint"].split()
    assert (python, flag) == ("python", "-m")
    source = (REPO / (module.replace(".", "/") + ".py")).read_text()
    assert all(f'"{option}"' in source for option in options) and options == ["--due"]
    assert 'if __name__ == "__main__":' in source


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
def test_serve_config_is_a_valid_serve_deploy_config(target: str, rendered: dict[str, list[Manifest]]) -> None:
    from ray.serve.config import AutoscalingConfig
    from ray.serve.schema import DeploymentSchema, ServeApplicationSchema, ServeDeploySchema

    config = serve_config(rendered[target])
    ServeDeploySchema.model_validate(config)
    # Serve ignores unknown keys silently; a misspelt option would never take effect.
    unknown = set(config) - set(ServeDeploySchema.model_fields)
    for app in config["applications"]:
        unknown |= set(app) - set(ServeApplicationSchema.model_fields)
        for deployment in app.get("deployments", []):
            unknown |= set(deployment) - set(DeploymentSchema.model_fields)
            unknown |= set(deployment.get("autoscaling_config", {})) - set(AutoscalingConfig.model_fields)
    assert not unknown


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_serve_config_deploys_the_chainsight_builder_at_the_root(
    target: str, rendered: dict[str, list[Manifest]]
) -> None:
    app = chainsight_app(rendered[target])
    assert app["import_path"] == "deployments.app_builder:build_app"
    assert app["route_prefix"] == "/"


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_import_path_names_a_function_of_its_module(target: str, rendered: dict[str, list[Manifest]]) -> None:
    module, attribute = chainsight_app(rendered[target])["import_path"].split(":")
    functions = {n.name for n in parse_module(module).body if isinstance(n, ast.FunctionDef)}
    assert attribute in functions


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_builder_args_are_fields_of_app_args(target: str, rendered: dict[str, list[Manifest]]) -> None:
    (app_args,) = [
        n for n in parse_module("deployments.app_builder").body if isinstance(n, ast.ClassDef) and n.name == "AppArgs"
    ]
    fields = {n.target.id for n in app_args.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
    assert set(chainsight_app(rendered[target])["args"]) <= fields


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_every_configured_deployment_exists_in_the_code(target: str, rendered: dict[str, list[Manifest]]) -> None:
    configured = {d["name"] for d in chainsight_app(rendered[target]).get("deployments", [])}
    assert configured
    assert configured <= serve_deployment_names_in_code()


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_inventory_api_overrides_repeat_the_builder_args(target: str, rendered: dict[str, list[Manifest]]) -> None:
    # The per-deployment options win over what build_app sets from args: they must not disagree.
    app = chainsight_app(rendered[target])
    args = app["args"]
    (inventory,) = [d for d in app["deployments"] if d["name"] == "InventoryAPI"]
    autoscaling = inventory["autoscaling_config"]
    assert inventory["max_ongoing_requests"] == args["max_ongoing_requests"]
    assert (autoscaling["min_replicas"], autoscaling["max_replicas"], autoscaling["target_ongoing_requests"]) == (
        args["min_replicas"],
        args["max_replicas"],
        args["target_ongoing_requests"],
    )


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_configured_deployments_are_ones_the_builder_creates_from_these_args(
    target: str, rendered: dict[str, list[Manifest]]
) -> None:
    from deployments.app_builder import AppArgs, serve_deployment_names

    app = chainsight_app(rendered[target])
    args = AppArgs.model_validate(app["args"])  # the llm block validates as LLMArgs too
    created = set(serve_deployment_names(args))
    assert {d["name"] for d in app["deployments"]} <= created
    assert ({"CopilotService", "LLMServer:copilot-llm"} <= created) is args.copilot


def gpu_group(manifests: list[Manifest]) -> Manifest:
    (group,) = [g for g in ray_cluster_spec(rayservice(manifests))["workerGroupSpecs"] if g["groupName"] == "gpu"]
    return group


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_the_copilot_is_served_exactly_where_gpu_pods_can_start(
    target: str, rendered: dict[str, list[Manifest]]
) -> None:
    # An LLM replica that can never be placed would keep the whole application from becoming healthy.
    copilot = chainsight_app(rendered[target])["args"].get("copilot", False)
    assert copilot is (gpu_group(rendered[target])["maxReplicas"] > 0)


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_the_llm_runs_on_gpus_with_tensor_parallelism_one_gpu_pod_holds(
    target: str, rendered: dict[str, list[Manifest]]
) -> None:
    from deployments.llm_server import LLMArgs

    args = chainsight_app(rendered[target])["args"]
    if not args.get("copilot", False):
        assert "llm" not in args
        return
    llm = LLMArgs.model_validate(args["llm"])
    group = gpu_group(rendered[target])
    (container,) = group["template"]["spec"]["containers"]
    gpus_per_pod = int(container["resources"]["limits"]["nvidia.com/gpu"])
    assert llm.device == "gpu"
    assert 1 <= llm.tensor_parallel_size <= gpus_per_pod
    assert llm.num_replicas <= group["maxReplicas"] * (gpus_per_pod // llm.tensor_parallel_size)


def test_overlays_change_only_numbers_in_the_serve_config(rendered: dict[str, list[Manifest]]) -> None:
    def shape(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: shape(v) for k, v in value.items()}
        if isinstance(value, list):
            return [shape(v) for v in value]
        return "<number>" if isinstance(value, int | float) and not isinstance(value, bool) else value

    def without_copilot(config: dict[str, Any]) -> dict[str, Any]:
        apps = [
            {
                **app,
                "args": {k: v for k, v in app["args"].items() if k not in ("copilot", "llm")},
                "deployments": [d for d in app["deployments"] if d["name"] != "CopilotService"],
            }
            for app in config["applications"]
        ]
        return {**config, "applications": apps}

    base = shape(serve_config(rendered["base"]))
    for overlay in OVERLAYS:
        config = serve_config(rendered[overlay])
        # An overlay without GPU pods leaves the copilot out (and says so); nothing else may differ.
        if chainsight_app(rendered[overlay])["args"].get("copilot") is False:
            assert shape(without_copilot(config)) == without_copilot(base), overlay
        else:
            assert shape(config) == base, overlay


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


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_every_rayservice_node_runs_serve_in_high_throughput_mode(
    target: str, rendered: dict[str, list[Manifest]]
) -> None:
    for group, container in ray_containers(rayservice(rendered[target])):
        env = env_of(container)
        assert env["RAY_SERVE_ENABLE_HA_PROXY"]["value"] == "1", group
        assert env["RAY_SERVE_THROUGHPUT_OPTIMIZED"]["value"] == "1", group


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


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_every_target_schedules_the_maintenance_job_with_the_release_image(
    target: str, rendered: dict[str, list[Manifest]]
) -> None:
    (cron,) = [m for m in rendered[target] if m["kind"] == "CronJob"]
    (container,) = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "-m", "deployments.maintenance_job"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    (rayservice_image,) = {
        c["image"] for _, c in ray_containers(rayservice(rendered[target])) if "gpu" not in c["image"]
    }
    assert container["image"] == rayservice_image
