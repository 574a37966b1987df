"""The command to type for `ray job submit` against the local cluster.

The cluster runs a job's ``python`` as the project's interpreter (``common.ray_connection`` puts it first on
PATH before Ray starts) and reads its settings from the cluster's environment, where ``ensure_database`` put
DATABASE_URL and ``start_ray`` the other settings of `.env` before Ray started (``export_settings``):
``--working-dir .`` uploads no .gitignored ``.env``. Ray's token authentication
stays on: the CLI reads the cluster's token (``~/.ray/auth_token``) when ``RAY_AUTH_MODE=token`` is set.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

BATCH_ENTRYPOINT = ("python", "-m", "deployments.jobs", "batch-forecast", "--freq", "D", "--horizon", "28")


def submit_command(dashboard_url: str, entrypoint: Sequence[str] = BATCH_ENTRYPOINT) -> str:
    """The shell command that runs ``entrypoint`` as a Ray job on the cluster whose dashboard is ``dashboard_url``."""
    return (
        f"RAY_AUTH_MODE=token ray job submit --address {shlex.quote(dashboard_url)} --working-dir . -- "
        + shlex.join(entrypoint)
    )
