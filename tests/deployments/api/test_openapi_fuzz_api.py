"""Every route but the model ones (/api/v1/ai, fuzzed through Serve in tests/deployments/test_openapi_fuzz.py), in
process: requests generated from the OpenAPI schema (valid and invalid) never get a 5xx, and every status they
get is one the schema documents for that operation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.schemathesis_cli import fuzz

GENERATED_AT_LEAST = 3000  # 6,241 here


@pytest.mark.slow
def test_generated_requests_never_get_a_server_error_or_an_undocumented_status(
    api_server_url, fuzz_token, tmp_path: Path
):
    run = fuzz(api_server_url, fuzz_token, tmp_path, ("--exclude-path-regex", "^/api/v1/ai/"))
    run.assert_all_passed(at_least=GENERATED_AT_LEAST)
