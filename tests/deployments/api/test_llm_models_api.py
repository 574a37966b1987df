"""The OpenAI-compatible model routes answer members only, like every other /api/v1 route."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from deployments.api.app import create_api
from deployments.api.deps import ModelHandles

MODEL_PATHS = ["/api/v1/ai/llm/models", "/api/v1/ai/llm/models/copilot-llm"]


@pytest.mark.parametrize("path", MODEL_PATHS)
async def test_a_valid_token_of_no_tenant_s_member_is_a_403(settings, make_tenant, path):
    # Before, the token was verified but no tenant transaction ran, so anyone with a token got a 200.
    tenant = await make_tenant()
    with TestClient(create_api(settings, model_handles=ModelHandles(llm=object()))) as client:
        answer = client.get(path, headers=tenant.headers(uuid.uuid4()))
    assert (answer.status_code, answer.json().get("code")) == (403, "forbidden"), answer.text


@pytest.mark.parametrize("path", MODEL_PATHS)
async def test_a_viewer_lists_and_reads_the_served_model(settings, make_tenant, path):
    tenant = await make_tenant()
    with TestClient(create_api(settings, model_handles=ModelHandles(llm=object()))) as client:
        answer = client.get(path, headers=tenant.headers(tenant.viewer))
    assert answer.status_code == 200, answer.text
    assert "copilot-llm" in answer.text
