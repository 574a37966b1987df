"""What `ray job submit` needs from a local cluster: the project's interpreter, and the command to type.

A job's entrypoint runs on the head in the environment of the process that started Ray, so a bare
``python`` there is whatever came first on that process's PATH: the system interpreter when
``chainsight up`` was started as ``.venv/bin/chainsight up`` without activating the venv. Putting
this interpreter's folder first on PATH (and naming the venv) before Ray starts makes ``python`` in
every job, worker and replica the project's, activated or not. Ray's token authentication stays on:
the CLI reads the cluster's token (``~/.ray/auth_token``) when ``RAY_AUTH_MODE=token`` is set.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import MutableMapping, Sequence
from pathlib import Path

BATCH_ENTRYPOINT = ("python", "-m", "training.batch_forecast", "--freq", "D", "--horizon", "28")


def put_interpreter_first(environ: MutableMapping[str, str] | None = None) -> str:
    """Prepend this interpreter's bin folder to ``environ``'s PATH (``os.environ`` by default); returns it."""
    env = os.environ if environ is None else environ
    bin_dir = str(Path(sys.executable).parent)
    parts = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != bin_dir]
    env["PATH"] = os.pathsep.join([bin_dir, *parts])
    if sys.prefix != sys.base_prefix:
        env["VIRTUAL_ENV"] = sys.prefix
    return bin_dir


def submit_command(dashboard_url: str, entrypoint: Sequence[str] = BATCH_ENTRYPOINT) -> str:
    """The shell command that runs ``entrypoint`` as a Ray job on the cluster whose dashboard is ``dashboard_url``."""
    return (
        f"RAY_AUTH_MODE=token ray job submit --address {shlex.quote(dashboard_url)} --working-dir . -- "
        + shlex.join(entrypoint)
    )
