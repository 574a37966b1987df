"""Fixtures for tests/cluster: the KubeRay CRDs (required, never skipped), rendered manifests, monitoring files."""

from __future__ import annotations

import json
import os
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


@pytest.fixture(scope="session")
def kuberay_crds() -> Path:
    configured = os.environ.get("CHAINSIGHT_KUBERAY_CRDS")
    directory = Path(configured) if configured else REPO.parent / "shared" / "kuberay-crds"
    if not directory.is_dir() or not any(directory.glob("ray.io_*.yaml")):
        pytest.fail(
            f"KubeRay CRDs not found in {directory}: set CHAINSIGHT_KUBERAY_CRDS to the directory holding "
            "ray.io_rayservices.yaml, ray.io_rayjobs.yaml and ray.io_raycronjobs.yaml",
            pytrace=False,
        )
    return directory


@pytest.fixture(scope="session")
def crd_validators(kuberay_crds: Path) -> dict[tuple[str, str], Draft202012Validator]:
    """A strict validator per (apiVersion, kind) served by the CRDs."""
    validators = {}
    for path in sorted(kuberay_crds.glob("ray.io_*.yaml")):
        # libyaml's loader: the four CRDs are 75,000 lines (about 20 s with the pure-Python one).
        crd = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 (safe loader)
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = strict(version["schema"]["openAPIV3Schema"])
            validators[(f"{group}/{version['name']}", kind)] = Draft202012Validator(schema)
    missing = {kind for kind in RAY_KINDS if not any(k == kind for _, k in validators)}
    if missing:
        pytest.fail(f"{kuberay_crds} has no CRD for {sorted(missing)}", pytrace=False)
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
