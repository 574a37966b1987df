"""Helpers for the checks on cluster/ and the Dockerfile: a small kustomize, strict CRD schemas.

The overlays are rendered here without kustomize: they use only `resources`, `components`, `namespace`,
`images` and RFC 6902 `patches`, which this module implements (and refuses anything else). Where kubectl
or kustomize is installed, test_kuberay_manifests.py checks that both renderings agree.
"""

from __future__ import annotations

import ast
import copy
import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "cluster"
# Everything `kubectl apply -k` is meant to be run on, plus the base they share.
KUSTOMIZE_TARGETS = ["base", *sorted(f"overlays/{p.name}" for p in (CLUSTER / "overlays").iterdir() if p.is_dir())]
RAY_KINDS = ("RayService", "RayJob", "RayCronJob")
# The kustomize targets and the on-demand jobs (cluster/jobs), as the `rendered` fixture holds them.
ALL_TARGETS = [*KUSTOMIZE_TARGETS, "jobs"]
OVERLAYS = [t for t in KUSTOMIZE_TARGETS if t.startswith("overlays/")]

Manifest = dict[str, Any]

_SUPPORTED_KUSTOMIZE_KEYS = {"apiVersion", "kind", "resources", "components", "namespace", "images", "patches"}


def render(directory: Path, manifests: list[Manifest] | None = None) -> list[Manifest]:
    """The manifests `kubectl kustomize directory` prints, for the subset of kustomize the repo uses.

    A Component (``kind: Component``) is rendered onto ``manifests``, the resources of the kustomization that
    lists it: its resources join them and its patches apply to all of them, as kustomize does.
    """
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unsupported = set(spec) - _SUPPORTED_KUSTOMIZE_KEYS
    if unsupported:
        raise ValueError(f"{directory}: kustomization keys {sorted(unsupported)} are not rendered by tests/cluster")
    manifests = manifests if manifests is not None else []
    for entry in spec.get("resources", []):
        path = directory / entry
        manifests += render(path) if path.is_dir() else load_manifests(path)
    for component in spec.get("components", []):
        render(directory / component, manifests)
    for patch in spec.get("patches", []):
        operations = yaml.safe_load((directory / patch["path"]).read_text())
        target = patch["target"]
        matched = [m for m in manifests if m["kind"] == target["kind"] and m["metadata"]["name"] == target["name"]]
        if not matched:
            raise ValueError(f"{directory}: patch {patch['path']} matches no resource")
        for manifest in matched:
            apply_json_patch(manifest, operations)
    for image in spec.get("images", []):
        for manifest in manifests:
            _set_image(manifest, image)
    if "namespace" in spec:
        for manifest in manifests:
            manifest["metadata"]["namespace"] = spec["namespace"]
    return manifests


def load_manifests(path: Path) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def apply_json_patch(document: Manifest, operations: list[dict[str, Any]]) -> None:
    """RFC 6902 add/replace/remove/test, in place; a failed `test` raises."""
    for op in operations:
        *parents, last = [_unescape(token) for token in op["path"].split("/")[1:]]
        container: Any = document
        for token in parents:
            container = container[int(token)] if isinstance(container, list) else container[token]
        key: Any = last if isinstance(container, dict) else (len(container) if last == "-" else int(last))
        if op["op"] == "test":
            if container[key] != op["value"]:
                raise ValueError(f"JSON patch test failed at {op['path']}: {container[key]!r} != {op['value']!r}")
        elif op["op"] == "replace":
            if (key not in container) if isinstance(container, dict) else (key >= len(container)):
                raise ValueError(f"JSON patch replace of missing {op['path']}")
            container[key] = copy.deepcopy(op["value"])
        elif op["op"] == "add":
            if isinstance(container, list):
                container.insert(key, copy.deepcopy(op["value"]))
            else:
                container[key] = copy.deepcopy(op["value"])
        elif op["op"] == "remove":
            del container[key]
        else:
            raise ValueError(f"JSON patch op {op['op']!r} is not rendered by tests/cluster")


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _set_image(node: Any, image: dict[str, str]) -> None:
    # kustomize's `images` transformer: every containers[]/initContainers[] image of that name.
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers") and isinstance(value, list):
                for container in value:
                    name, tag = split_image(container.get("image", ""))
                    if name == image["name"]:
                        new_name = image.get("newName", name)
                        new_tag = image.get("newTag", tag)
                        container["image"] = f"{new_name}:{new_tag}" if new_tag else new_name
            else:
                _set_image(value, image)
    elif isinstance(node, list):
        for item in node:
            _set_image(item, image)


def split_image(image: str) -> tuple[str, str]:
    """`registry:5000/name:tag` -> (`registry:5000/name`, `tag`); the tag is "" when absent."""
    slash = image.rfind("/")
    colon = image.find(":", slash + 1)
    return (image, "") if colon == -1 else (image[:colon], image[colon + 1 :])


def strict(schema: Any) -> Any:
    """A CRD schema that refuses unknown fields, as the API server's strict field validation does.

    Structural schemas only prune unknown fields, so without this a misspelt field would validate.
    """
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: strict(value) for key, value in schema.items()}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        result["additionalProperties"] = False
    return result


def ray_manifests(manifests: list[Manifest]) -> list[Manifest]:
    return [m for m in manifests if m["apiVersion"].startswith("ray.io/") and m["kind"] in RAY_KINDS]


def ray_cluster_spec(manifest: Manifest) -> Manifest:
    spec = manifest["spec"]
    if manifest["kind"] == "RayService":
        return spec["rayClusterConfig"]
    if manifest["kind"] == "RayCronJob":
        return spec["jobTemplate"]["rayClusterSpec"]
    return spec["rayClusterSpec"]


def ray_containers(manifest: Manifest) -> list[tuple[str, Manifest]]:
    """(group, Ray container) for the head and every worker group; the Ray container comes first."""
    cluster = ray_cluster_spec(manifest)
    groups = [("head", cluster["headGroupSpec"])] + [(g["groupName"], g) for g in cluster.get("workerGroupSpecs", [])]
    return [(name, group["template"]["spec"]["containers"][0]) for name, group in groups]


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


def env_of(container: Manifest) -> dict[str, Manifest]:
    return {var["name"]: var for var in container.get("env", [])}


def pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def pinned_versions() -> dict[str, str]:
    """Exact pins (`name==version`, extras dropped) among pyproject's runtime dependencies."""
    pins = {}
    for requirement in pyproject()["project"]["dependencies"]:
        if "==" in requirement:
            name, version = requirement.split("==", 1)
            pins[name.split("[")[0].strip().lower()] = version.strip()
    return pins


def serve_error_ratio_series() -> tuple[set[str], set[str]]:
    """The series the Serve error alert (ChainsightServeDeploymentErrors) divides: numerator's, denominator's.

    Its expression is split at its line that is only `/`; each side's names are the ray_serve_* it selects.
    """
    spec = yaml.safe_load((CLUSTER / "monitoring" / "prometheusrule.yaml").read_text())["spec"]
    (rule,) = [r for g in spec["groups"] for r in g["rules"] if r.get("alert") == "ChainsightServeDeploymentErrors"]
    numerator, denominator = re.split(r"^\s*/\s*$", rule["expr"], flags=re.MULTILINE)
    names = re.compile(r"\bray_serve_[a-z0-9_]+\b")
    return set(names.findall(numerator)), set(names.findall(denominator))
