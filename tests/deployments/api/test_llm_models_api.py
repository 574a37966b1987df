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


CHAT = "/api/v1/ai/llm/chat/completions"
HELLO = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    "body",
    [
        {"json": {"messages": HELLO, "max_tokens": 4}},
        {"json": {"messages": HELLO, "model": "gpt-4"}},
        {"json": {"messages": HELLO, "max_tokens": 100_000}},
        {"json": {"messages": HELLO, "n": 9}},
        {"json": {"messages": None, "max_tokens": 4}},
        {"json": []},
        {"content": b"{", "headers": {"content-type": "application/json"}},
        {},
    ],
)
async def test_a_non_member_s_chat_request_is_a_403_whatever_its_body(settings, make_tenant, body):
    # Before, the body was checked first: a non-member with a bad body got its 404, 400 or 422, not the 403. The
    # handle is no engine (any call on it fails), so a 403 also says the request reached none.
    tenant = await make_tenant()
    headers = {**tenant.headers(uuid.uuid4()), **body.pop("headers", {})}
    with TestClient(create_api(settings, model_handles=ModelHandles(llm=object()))) as client:
        answer = client.post(CHAT, headers=headers, **body)
    assert (answer.status_code, answer.json().get("code")) == (403, "forbidden"), answer.text


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"content": b"{", "headers": {"content-type": "application/json"}}, (400, "malformed_json")),
        # Bytes that are no UTF-8, and nesting past Python's recursion limit, were 500s.
        (
            {"content": b'{"messages": "\xff"}', "headers": {"content-type": "application/json"}},
            (400, "malformed_json"),
        ),
        (
            {"content": b"[" * 100_000 + b"]" * 100_000, "headers": {"content-type": "application/json"}},
            (400, "malformed_json"),
        ),
        (  # an integer past Python's 4,300 digits
            {"content": b'{"max_tokens": ' + b"1" * 5000 + b"}", "headers": {"content-type": "application/json"}},
            (400, "malformed_json"),
        ),
        ({"json": []}, (422, "validation_error")),
        ({}, (422, "validation_error")),
    ],
)
async def test_a_member_s_body_that_is_no_json_object_is_refused_before_the_engine(
    settings, make_tenant, body, expected
):
    tenant = await make_tenant()
    headers = {**tenant.headers(), **body.pop("headers", {})}
    with TestClient(create_api(settings, model_handles=ModelHandles(llm=object()))) as client:
        answer = client.post(CHAT, headers=headers, **body)
    assert (answer.status_code, answer.json().get("code")) == expected, answer.text
