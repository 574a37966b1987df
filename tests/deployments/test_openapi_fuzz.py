"""Requests generated from the OpenAPI schema by schemathesis (valid and invalid) never get a 5xx, and every
status they get is one the schema documents for that operation."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest

from common.config import Settings
from common.dev_tokens import issue_hs256_token
from tests.support.tenant_rows import add_tenant_with_member


@pytest.fixture(scope="session")
def fuzz_token(database_url: str, settings: Settings) -> str:
    """A planner of a fresh tenant, so generated writes can succeed as well as fail."""

    async def arrange() -> uuid.UUID:
        conn = await asyncpg.connect(database_url)
        try:
            _, planner = await add_tenant_with_member(conn, "Fuzz")
        finally:
            await conn.close()
        return planner

    planner = asyncio.run(arrange())
    return issue_hs256_token(str(settings.jwt_secret), planner)


@pytest.mark.slow
@pytest.mark.usefixtures("copilot_serve_url")  # every route, the copilot's and the LLM's included
def test_generated_requests_never_get_a_server_error_or_an_undocumented_status(serve_url, fuzz_token, tmp_path: Path):
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert cli is not None, "schemathesis is a dev dependency: make install"
    result = subprocess.run(
        [
            cli,
            "run",
            f"{serve_url}/openapi.json",
            "--checks",
            "not_a_server_error,status_code_conformance",
            "--max-examples",
            "25",
            "--seed",
            "20261126",
            "--header",
            f"Authorization: Bearer {fuzz_token}",
            "--request-timeout",
            "30",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    # Keep the failing operations and their reproduction commands, which come before the summary.
    failures_at = result.stdout.find("FAILURES")
    summary = result.stdout[failures_at : failures_at + 12000] if failures_at >= 0 else result.stdout[-4000:]
    assert result.returncode == 0, summary
    counts = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert counts is not None, summary
    generated, passed = map(int, counts.groups())
    assert generated >= 500, summary  # the run really exercised the API
    assert passed == generated, summary
