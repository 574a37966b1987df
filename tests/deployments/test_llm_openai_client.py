"""The OpenAI-compatible route through Serve, called with the official ``openai`` client as LangChain,
LiteLLM or Open WebUI would: list the models, pick one, chat streamed and unstreamed; unknown names are
refused with OpenAI's error body."""

from __future__ import annotations

import openai
import pytest

from deployments.llm_server import LLM_MODEL_ID

# The copilot and its vLLM engine: the session's Serve application is upgraded once (tests/deployments/conftest.py).
pytestmark = [pytest.mark.slow, pytest.mark.serve, pytest.mark.usefixtures("copilot_serve_url")]

LLM = "/api/v1/ai/llm"


def client(serve_url: str, token: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{serve_url}{LLM}", api_key=token, max_retries=0, timeout=60)


async def test_the_official_client_lists_the_served_model(serve_url, make_tenant):
    tenant = await make_tenant()
    models = await client(serve_url, tenant.token()).models.list()
    assert [m.id for m in models.data] == [LLM_MODEL_ID]
    assert models.data[0].object == "model"


async def test_the_official_client_retrieves_the_served_model_by_name(serve_url, make_tenant):
    tenant = await make_tenant()
    model = await client(serve_url, tenant.token()).models.retrieve(LLM_MODEL_ID)
    assert (model.id, model.owned_by) == (LLM_MODEL_ID, "chainsight")


async def test_an_unknown_model_is_not_found_in_openais_error_shape(serve_url, make_tenant):
    tenant = await make_tenant()
    with pytest.raises(openai.NotFoundError) as raised:
        await client(serve_url, tenant.token()).models.retrieve("gpt-4o")
    assert raised.value.code == "model_not_found" and raised.value.body["type"] == "invalid_request_error"  # type: ignore[index]


async def test_chat_completions_refuse_an_unknown_model_with_openais_error_shape(serve_url, make_tenant):
    tenant = await make_tenant()
    with pytest.raises(openai.NotFoundError) as raised:
        await client(serve_url, tenant.token()).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}], max_tokens=4
        )
    assert raised.value.code == "model_not_found" and raised.value.body["param"] == "model"  # type: ignore[index]


async def test_the_listed_model_answers_unstreamed_and_streamed(serve_url, make_tenant):
    tenant = await make_tenant()
    llm = client(serve_url, tenant.token())
    (model,) = (await llm.models.list()).data
    messages = [{"role": "user", "content": "Say hello"}]
    plain = await llm.chat.completions.create(model=model.id, messages=messages, max_tokens=8)  # type: ignore[arg-type]
    assert plain.choices[0].message.content
    stream = await llm.chat.completions.create(model=model.id, messages=messages, max_tokens=8, stream=True)  # type: ignore[arg-type]
    deltas = [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
    assert "".join(deltas)


async def test_listing_models_needs_a_members_token(serve_url):
    with pytest.raises(openai.AuthenticationError):
        await client(serve_url, "not-a-token").models.list()
