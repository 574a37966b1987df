"""The model routes (/api/v1/ai: forecast, risk, copilot, LLM) through Serve: requests generated from the OpenAPI
schema (valid and invalid) never get a 5xx, and every status they get is one the schema documents for that
operation. The other routes are fuzzed in process: tests/deployments/api/test_openapi_fuzz_api.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.schemathesis_cli import fuzz

GENERATED_AT_LEAST = 900  # 1,901 here


@pytest.mark.slow
@pytest.mark.timeout(1_200)  # schemathesis's own bound is 1,100 s (tests/support/schemathesis_cli.py)
@pytest.mark.usefixtures("copilot_serve_url")  # the copilot's and the LLM's routes answer, not 503
def test_generated_requests_to_the_model_routes_never_get_a_server_error_or_an_undocumented_status(
    serve_url, fuzz_token, tmp_path: Path
):
    run = fuzz(serve_url, fuzz_token, tmp_path, ("--include-path-regex", "^/api/v1/ai/"))
    run.assert_all_passed(at_least=GENERATED_AT_LEAST)
