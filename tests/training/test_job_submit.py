"""`ray job submit` against a local cluster started the way `chainsight up` starts it (``start_ray`` with
``get_settings()``, dashboard on, token authentication on, a `.env` in its working directory), from a shell whose
venv is activated while the cluster's was not: the printed command runs the nightly batch, which writes forecasts,
and a rerun replaces them; a job sees the `.env`'s settings, which `--working-dir .` does not upload."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from deployments.job_env import submit_command
from tests.support.ports import free_port
from tests.training.ledger_rows import post_daily_demand

# Its own cluster and the session's share one fixed port, the job agent's: only the cluster that starts first
# takes job submissions. `make pytest` runs the own_cluster tests first in the PostgreSQL-only process, and the
# Ray tests wait for this cluster before starting Ray (tests/conftest.py, JOB_AGENT_PORT); alone, nothing is shared.
pytestmark = [pytest.mark.slow, pytest.mark.own_cluster]

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = str(Path(sys.executable).parent)
SYSTEM_PATH = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != VENV_BIN)
# The cluster's `.env` (``job_cluster``): a plain setting and a secret, neither of them DATABASE_URL.
DOTENV_STATEMENT_TIMEOUT_MS = 14321
DOTENV_INTEGRATIONS_KEY = "ZG90ZW52LWtleS1mb3ItdGhlLWpvYi1zdWJtaXQtdGVzdHM="
HOLD_CLUSTER = """
import sys
import ray
from ray._private.utils import write_ray_address
from common.config import get_settings
from deployments.local_stack import start_ray
url = start_ray(get_settings(), num_cpus=4)
write_ray_address(ray.get_runtime_context().gcs_address)  # see job_cluster
print(url, flush=True)
sys.stdin.read()  # until the test closes stdin; Ray stops with this process
"""


@pytest.fixture(scope="module")
def job_cluster(settings) -> Iterator[str]:
    """A cluster started by ``.venv/bin/python`` with the venv NOT on PATH (like ``.venv/bin/chainsight up``), in
    a folder whose `.env` holds settings (read as `chainsight up` reads them: no CHAINSIGHT_ENV_FILE)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADDRESS") and k != "CHAINSIGHT_ENV_FILE"}
    env.update(
        PATH=SYSTEM_PATH,
        DATABASE_URL=str(settings.database_url),
        ENVIRONMENT="test",
        COPILOT_ENABLED="false",
        RAY_DASHBOARD_PORT=str(free_port()),
    )
    env.pop("VIRTUAL_ENV", None)
    # The job supervisor sends a job's driver to the cluster named in ray_current_cluster in the cluster's
    # temporary directory, and with no such file to any cluster running on the machine (Ray resolves "auto";
    # `ray start` writes the file, ray.init does not). Beside the Ray tests' clusters, this one needs a
    # temporary directory of its own with that file in it (HOLD_CLUSTER writes it).
    ray_tmp = tempfile.mkdtemp(prefix="cs-ray-")  # short: Ray's socket paths live under it
    env["RAY_TMPDIR"] = ray_tmp
    Path(ray_tmp, ".env").write_text(
        f"DATABASE_STATEMENT_TIMEOUT_MS={DOTENV_STATEMENT_TIMEOUT_MS}\nINTEGRATIONS_ENCRYPTION_KEY={DOTENV_INTEGRATIONS_KEY}\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_CLUSTER], cwd=ray_tmp, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None and process.stdin is not None
    url = process.stdout.readline().strip()
    try:
        assert url.startswith("http://"), f"no dashboard URL from the cluster process: {url!r}"
        yield url
    finally:
        process.stdin.close()
        process.wait(timeout=120)
        shutil.rmtree(ray_tmp, ignore_errors=True)


def submit(command: str, key: str = "batch_forecast") -> dict:
    """Run ``command`` in a shell with the venv activated (its bin first on PATH); the job's JSON summary, the
    value of ``key`` in the last line that is an object with that key."""
    env = {**os.environ, "PATH": os.pathsep.join([VENV_BIN, SYSTEM_PATH]), "VIRTUAL_ENV": str(Path(VENV_BIN).parent)}
    env.pop("RAY_AUTH_MODE", None)  # the command itself must say how to authenticate
    env.pop("DATABASE_URL", None)  # the job must get it from the cluster's environment
    done = subprocess.run(["/bin/bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=540)
    lines = [line for line in done.stdout.splitlines() if line.startswith(f'{{"{key}"')]
    output = f"{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
    assert done.returncode == 0 and lines, f"job failed ({done.returncode}):\n{output}"
    return json.loads(lines[-1])[key]


async def test_the_printed_submit_command_runs_the_batch_on_the_cluster_and_a_rerun_replaces_its_rows(
    job_cluster, make_tenant, owner_pool
):
    tenant = await make_tenant()
    rng = np.random.default_rng(3)
    weekday = np.arange(120) % 7 < 5
    await post_daily_demand(
        owner_pool,
        tenant.id,
        [(p, tenant.warehouses[0], np.round(20 + 10 * weekday + rng.normal(0, 2, 120))) for p in tenant.products],
    )
    entrypoint = ["python", "-m", "deployments.jobs", "batch-forecast", "--freq", "D", "--horizon", "7",
                  "--profile", "fast", "--tenant", str(tenant.id)]  # fmt: skip
    command = submit_command(job_cluster, entrypoint)
    assert command.startswith(f"RAY_AUTH_MODE=token ray job submit --address {job_cluster} --working-dir . -- python ")

    first = (await asyncio.to_thread(submit, command))[0]
    assert (first["series"], first["rows"]) == (2, 14)
    second = (await asyncio.to_thread(submit, command))[0]
    assert (second["run_id"], second["rows"]) == (first["run_id"], 14)
    async with owner_pool.acquire() as conn:
        stored = await conn.fetchval(
            "SELECT count(*) FROM app.demand_forecasts WHERE tenant_id = $1 AND run_id = $2",
            tenant.id,
            uuid.UUID(first["run_id"]),
        )
    assert stored == 14


# Prints the settings the job reads: the secret only as its SHA-256.
SHOW_SETTINGS = """
import hashlib, json
from common.config import get_settings
s = get_settings()
key = s.integrations_encryption_key.get_secret_value() if s.integrations_encryption_key else ""
print(json.dumps({"settings": {"statement_timeout_ms": s.database_statement_timeout_ms,
                               "integrations_key_sha256": hashlib.sha256(key.encode()).hexdigest()}}))
"""


async def test_a_submitted_job_reads_the_settings_of_the_env_file_the_cluster_was_started_with(job_cluster):
    seen = await asyncio.to_thread(submit, submit_command(job_cluster, ["python", "-c", SHOW_SETTINGS]), "settings")
    assert seen == {
        "statement_timeout_ms": DOTENV_STATEMENT_TIMEOUT_MS,
        "integrations_key_sha256": hashlib.sha256(DOTENV_INTEGRATIONS_KEY.encode()).hexdigest(),
    }
