"""The OpenAI-compatible route's stream when the model call breaks off after the first chunk."""

from __future__ import annotations

import json
from types import SimpleNamespace

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
