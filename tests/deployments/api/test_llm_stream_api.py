"""The OpenAI-compatible chat route: its stream when the model call breaks off after the first chunk, and the
requests it refuses before the model and the rate limit see them."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import ray.cloudpickle
from fastapi.testclient import TestClient

from deployments.api.app import create_api
from deployments.api.deps import ModelHandles

FIRST = 'data: {"id": "c1", "object": "chat.completion.chunk", "choices": []}\n\n'


class BreaksAfterOneChunk:
    """An LLMServer handle whose streamed call yields one chunk and then dies (as a replica lost mid-answer)."""

    def options(self, **_: object) -> BreaksAfterOneChunk:
        return self

    @property
    def chat(self) -> SimpleNamespace:
        async def stream(_completion: object):
            yield FIRST
            raise RuntimeError("the replica died")

        return SimpleNamespace(remote=stream)


async def test_a_stream_that_breaks_off_ends_with_an_error_event_and_done(settings, make_tenant):
    # Before, the body just stopped after the 200: no error event, no [DONE]; OpenAI clients saw a connection error.
    tenant = await make_tenant()
    body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4, "stream": True}
    with TestClient(create_api(settings, model_handles=ModelHandles(llm=BreaksAfterOneChunk()))) as client:
        answer = client.post("/api/v1/ai/llm/chat/completions", json=body, headers=tenant.headers())
    events = [line.removeprefix("data: ") for line in answer.text.split("\n\n") if line]
    assert answer.status_code == 200 and events[-1] == "[DONE]"
    assert json.loads(events[-2])["error"]["type"] == "InternalServerError"


class RecordsCalls:
    """An LLMServer handle that pickles each request as Serve does on its way to the replica, records it and
    answers with an empty completion."""

    def __init__(self) -> None:
        self.requests: list[object] = []

    def options(self, **_: object) -> RecordsCalls:
        return self

    @property
    def chat(self) -> SimpleNamespace:
        async def answer(completion: object):
            ray.cloudpickle.dumps(completion)
            self.requests.append(completion)
            yield SimpleNamespace(error=None, model_dump=lambda: {"object": "chat.completion", "choices": []})

        return SimpleNamespace(remote=answer)


HELLO = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    "fields",
    [
        {"tools": []},
        {"tool_choice": "auto"},
        {"stream_options": {"include_usage": True}},
        {"top_logprobs": 3},
        {"cache_salt": 5},
        {"structured_outputs": "x"},
        {"messages": None},
        {"messages": 5},
        {"messages": [{"role": "assistant", "content": "x", "tool_calls": 5}]},
    ],
)
async def test_a_request_vllm_s_own_checks_refuse_is_a_400_that_spends_no_call(
    settings, make_tenant, owner_pool, fields
):
    # Before, vLLM's checks raised errors the route did not catch (no pydantic ValidationError): a 500 instead of
    # OpenAI's 400.
    await assert_refused_without_spending_a_call(
        settings, await make_tenant(), owner_pool, {"messages": HELLO, "max_tokens": 4, **fields}
    )


async def assert_refused_without_spending_a_call(settings, tenant, owner_pool, body) -> None:
    handle = RecordsCalls()
    with TestClient(create_api(settings, model_handles=ModelHandles(llm=handle))) as client:
        answer = client.post("/api/v1/ai/llm/chat/completions", json=body, headers=tenant.headers())
    assert (answer.status_code, answer.json().get("code")) == (400, "validation_error"), answer.text
    assert handle.requests == []
    spent = await owner_pool.fetchval("SELECT count(*) FROM app.copilot_requests WHERE tenant_id = $1", tenant.id)
    assert spent == 0


@pytest.mark.parametrize(
    "content",
    [[], ["hi"], {"type": "text", "text": "hi"}, [{"type": "text"}], [{"type": "image_url"}], [{"type": "wizard"}]],
)
async def test_content_of_no_part_shape_is_a_400_that_spends_no_call(settings, make_tenant, owner_pool, content):
    # Before, the request model left such content unread (validated only when read), so it passed; the handle
    # call could not pickle it: a 500 after the rate limit had counted the call.
    await assert_refused_without_spending_a_call(
        settings, await make_tenant(), owner_pool, {"messages": [{"role": "user", "content": content}], "max_tokens": 4}
    )


async def test_content_parts_reach_the_model_once_counted(settings, make_tenant, owner_pool):
    tenant = await make_tenant()
    handle = RecordsCalls()
    parts = [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]
    body = {"messages": [{"role": "user", "content": parts}], "max_tokens": 4}
    with TestClient(create_api(settings, model_handles=ModelHandles(llm=handle))) as client:
        answer = client.post("/api/v1/ai/llm/chat/completions", json=body, headers=tenant.headers())
    assert answer.status_code == 200, answer.text
    assert [request.messages[0]["content"] for request in handle.requests] == [parts]
    spent = await owner_pool.fetchval("SELECT count(*) FROM app.copilot_requests WHERE tenant_id = $1", tenant.id)
    assert spent == 1
