"""The RayService's Serve config: a valid Serve deploy config, consistent with the application builder and
the deployments in the code, and with the GPU pods the copilot's LLM needs."""

from __future__ import annotations

import ast
from typing import Any

import pytest

from tests.cluster.cluster_support import (
    KUSTOMIZE_TARGETS,
    OVERLAYS,
    REPO,
    Manifest,
    chainsight_app,
    parse_module,
    ray_cluster_spec,
    rayservice,
    serve_config,
)


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


def test_the_copilot_budgets_follow_the_engine_the_args_run(rendered: dict[str, list[Manifest]]) -> None:
    # Before, CopilotService read COPILOT_LLM_DEVICE (unset on the CPU pods it runs on): a GPU engine got the
    # CPU budgets (96-token summaries, 3 passages, a 2048-token window).
    from deployments.app_builder import AppArgs, build_app

    engines = {}
    for target in KUSTOMIZE_TARGETS:
        args = AppArgs.model_validate(chainsight_app(rendered[target])["args"])
        if args.copilot and args.llm is not None:
            copilot = build_app(args)._bound_deployment.init_kwargs["copilot"]._bound_deployment.init_kwargs
            assert (copilot["device"], copilot["max_model_len"]) == (args.llm.device, args.llm.max_model_len)
            engines[target] = args.llm.device
    assert "gpu" in engines.values(), engines


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


@pytest.mark.parametrize("target", KUSTOMIZE_TARGETS)
def test_the_serve_deployments_at_their_most_fit_the_cpu_pods_at_theirs(
    target: str, rendered: dict[str, list[Manifest]]
) -> None:
    # Before, dev's deployments could ask for 10 CPUs of a cluster that never has more than 4: replicas past
    # those stayed pending for ever.
    (cpu,) = [g for g in ray_cluster_spec(rayservice(rendered[target]))["workerGroupSpecs"] if g["groupName"] == "cpu"]
    (container,) = cpu["template"]["spec"]["containers"]
    supply = cpu["maxReplicas"] * float(container["resources"]["limits"]["cpu"])
    demand = sum(
        d["autoscaling_config"]["max_replicas"] * d.get("ray_actor_options", {}).get("num_cpus", 1)
        for d in chainsight_app(rendered[target])["deployments"]
        if "autoscaling_config" in d
    )
    assert demand <= supply, (target, demand, supply)
