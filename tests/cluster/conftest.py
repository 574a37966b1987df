"""Fixtures for tests/cluster: upstream schemas (KubeRay and Gateway API CRDs, the Compose specification),
rendered manifests, monitoring files.

The schemas are not part of the repository: each is found through an environment variable, defaulting to the
workspace's ../shared copy. With CI=true they are required; elsewhere a missing one skips the tests that need
it, with a message saying how to get it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from tests.cluster.cluster_support import (
    CLUSTER,
    KUSTOMIZE_TARGETS,
    RAY_KINDS,
    REPO,
    Manifest,
    load_manifests,
    render,
    strict,
)


@dataclass(frozen=True)
class Upstream:
    """An upstream schema the tests validate against: a directory holding files matching ``pattern``, or a file
    when ``pattern`` is ""; found through ``variable``, else at ``default``."""

    variable: str
    default: Path
    pattern: str
    how_to_get: str

    def locate(self) -> Path:
        """Where it is; fails under CI=true when missing, else skips."""
        configured = os.environ.get(self.variable)
        location = Path(configured) if configured else self.default
        found = location.is_file() if self.pattern == "" else location.is_dir() and any(location.glob(self.pattern))
        if not found:
            message = f"{location} not found: set {self.variable} to {self.how_to_get}"
            if os.environ.get("CI") == "true":
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
        return location


KUBERAY_CRDS = Upstream(
    "CHAINSIGHT_KUBERAY_CRDS",
    REPO.parent / "shared" / "kuberay-crds",
    "ray.io_*.yaml",
    "a directory holding ray.io_rayservices.yaml, ray.io_rayjobs.yaml and ray.io_raycronjobs.yaml "
    "(ray-operator/config/crd/bases in github.com/ray-project/kuberay at the operator's release)",
)
GATEWAY_API_CRDS = Upstream(
    "CHAINSIGHT_GATEWAY_API_CRDS",
    REPO.parent / "shared" / "gateway-api-crds",
    "*.yaml",
    "a directory holding the Gateway API CRDs (config/crd/standard in github.com/kubernetes-sigs/gateway-api, "
    "or a release's standard-install.yaml)",
)
COMPOSE_SPEC = Upstream(
    "CHAINSIGHT_COMPOSE_SPEC",
    REPO.parent / "shared" / "compose-spec" / "compose-spec.json",
    "",
    "a copy of schema/compose-spec.json from github.com/compose-spec/compose-spec",
)


@pytest.fixture(scope="session")
def kuberay_crds() -> Path:
    return KUBERAY_CRDS.locate()


@pytest.fixture(scope="session")
def gateway_api_crds() -> Path:
    return GATEWAY_API_CRDS.locate()


@pytest.fixture(scope="session")
def compose_spec() -> Path:
    return COMPOSE_SPEC.locate()


def crd_validators_in(directory: Path) -> dict[tuple[str, str], Draft202012Validator]:
    """A strict validator per (apiVersion, kind) served by the CRDs in ``directory``."""
    validators = {}
    # libyaml's loader: the KubeRay CRDs are 75,000 lines (about 20 s with the pure-Python one).
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    texts = [path.read_text() for path in sorted(directory.glob("*.yaml"))]
    documents = [doc for text in texts for doc in yaml.load_all(text, loader)]  # a safe loader either way
    for crd in documents:
        if not crd or crd.get("kind") != "CustomResourceDefinition":
            continue
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = strict(version["schema"]["openAPIV3Schema"])
            validators[(f"{group}/{version['name']}", kind)] = Draft202012Validator(schema)
    return validators


@pytest.fixture(scope="session")
def crd_validators(kuberay_crds: Path) -> dict[tuple[str, str], Draft202012Validator]:
    """A strict validator per (apiVersion, kind) served by the KubeRay CRDs."""
    validators = crd_validators_in(kuberay_crds)
    missing = {kind for kind in RAY_KINDS if not any(k == kind for _, k in validators)}
    if missing:
        pytest.fail(f"{kuberay_crds} has no CRD for {sorted(missing)}", pytrace=False)
    return validators


@pytest.fixture(scope="session")
def gateway_validators(gateway_api_crds: Path) -> dict[tuple[str, str], Draft202012Validator]:
    validators = crd_validators_in(gateway_api_crds)
    missing = {"Gateway", "HTTPRoute"} - {kind for _, kind in validators}
    if missing:
        pytest.fail(f"{gateway_api_crds} has no CRD for {sorted(missing)}", pytrace=False)
    return validators


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[Manifest]]:
    """Every kustomize target rendered, plus the on-demand jobs as they are submitted."""
    targets = {target: render(CLUSTER / target) for target in KUSTOMIZE_TARGETS}
    targets["jobs"] = [m for path in sorted((CLUSTER / "jobs").glob("*.yaml")) for m in load_manifests(path)]
    return targets


@pytest.fixture(scope="session")
def grafana_dashboard() -> dict[str, Any]:
    return json.loads((CLUSTER / "monitoring" / "grafana-dashboard.json").read_text())


@pytest.fixture(scope="session")
def alert_rules() -> list[Manifest]:
    rule = yaml.safe_load((CLUSTER / "monitoring" / "prometheusrule.yaml").read_text())
    return [r for group in rule["spec"]["groups"] for r in group["rules"] if "alert" in r]
