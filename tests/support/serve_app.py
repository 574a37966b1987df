"""The composed Serve application as the test session deploys it: in a thread of its own, started as soon as the
session's Ray cluster is up, so the Ray tests that need no Serve (Ray Train fits, sync tasks) run while it
deploys. Deploying takes minutes on a 2-core machine (with the copilot, vLLM and the model conversion), most of
it spent starting processes, which leaves a core free for the other tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

import pytest

from common.config import Settings
from copilot.model_files import is_converted
from deployments.app_builder import AppArgs
from deployments.llm_server import llm_args_from
from deployments.local_stack import start_serve

# Where ``ray_cluster`` leaves the deployment it started (None when no selected test needed Serve).
SERVE_DEPLOYMENT = pytest.StashKey["ServeDeployment | None"]()
# The copilot model's conversion started at collection (None when none was needed or it was already done).
MODEL_CONVERSION = pytest.StashKey["subprocess.Popen[bytes] | None"]()
_CONVERT = (
    "import pathlib, sys; from copilot.model_files import ensure_smollm2_folder as f; f(pathlib.Path(sys.argv[1]))"
)


def uses(item: pytest.Item, fixture: str) -> bool:
    """Whether ``item`` asks for ``fixture``, directly or through another fixture."""
    return fixture in getattr(item, "fixturenames", ())


def needs_serve(items: Iterable[pytest.Item]) -> tuple[bool, bool]:
    """Whether any of ``items`` uses the Serve application, and whether any uses it with the copilot."""
    items = list(items)
    return any(uses(item, "serve_url") for item in items), any(uses(item, "copilot_serve_url") for item in items)


def serve_modules_last(items: list[pytest.Item]) -> None:
    """Reorder ``items`` in place: modules without a Serve test first, then those with one, each keeping its order.

    Whole modules move, so a module-scoped fixture is still set up once.
    """
    with_serve = {getattr(item, "module", None) for item in items if uses(item, "serve_url")}
    items.sort(key=lambda item: getattr(item, "module", None) in with_serve)


def start_model_conversion(folder: Path) -> subprocess.Popen[bytes] | None:
    """Convert the packaged SmolLM2 for vLLM (about 20 s of CPU) in a process of its own, unless it is converted.

    Started at collection, it runs while the Ray tests wait for the job cluster, when a core is idle, instead of
    in the deploy thread beside the Ray Train tests, sharing this process's GIL with them. Its output is dropped:
    if it fails, the deploy converts again in process and raises the error there."""
    if is_converted(folder.resolve()):
        return None
    return subprocess.Popen(
        [sys.executable, "-c", _CONVERT, str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _app_args(settings: Settings, *, copilot: bool) -> AppArgs:
    return AppArgs(min_replicas=1, max_replicas=1, copilot=copilot, llm=llm_args_from(settings) if copilot else None)


class ServeDeployment:
    """The application being deployed (or deployed) on the session's cluster, with or without the copilot."""

    def __init__(self, settings: Settings, *, copilot: bool, conversion: subprocess.Popen[bytes] | None = None) -> None:
        self.settings = settings
        self.copilot = copilot
        self._conversion = conversion
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="serve-deploy")
        self._deploying = self._executor.submit(self._deploy, copilot)

    def _deploy(self, copilot: bool) -> None:
        if copilot and self._conversion is not None:
            self._conversion.wait()
            self._conversion = None
        start_serve(self.settings, _app_args(self.settings, copilot=copilot))

    def ready(self) -> None:
        """Block until the deployment is healthy; raises what the deployment raised."""
        self._deploying.result()

    def with_copilot(self) -> None:
        """Upgrade in place to the application with the copilot (never the other way): vLLM starts once."""
        self.ready()
        if not self.copilot:
            self._deploy(copilot=True)
            self.copilot = True

    def close(self) -> None:
        """Wait for a deploy still running (the cluster must outlive it); its outcome went to ``ready``'s callers."""
        wait([self._deploying])
        self._executor.shutdown()
        if self._conversion is not None:  # started for a copilot deploy that never came
            self._conversion.wait()
