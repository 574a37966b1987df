"""The ``CopilotService`` Serve deployment: embeddings, retrieval, tools and prompting next to the model.

It holds the embedding model and a database pool, and calls the ``LLMServer`` deployment (vLLM) through a
DeploymentHandle. The ingress forwards the caller's verified claims; every query runs under them, so
row-level security applies here exactly as in the ingress.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal, cast
from uuid import UUID

from ray import serve
from ray.serve.handle import DeploymentHandle, DeploymentResponseGenerator

from common.config import Settings, get_settings
from common.database import Database, create_pool
from common.errors import InvalidInputError
from copilot.assistant import Copilot, CopilotLimits
from copilot.embeddings import Embedder
from copilot.retrieval import Fusion
from copilot.tokens import load_token_counter
from copilot.tool_choice import fit_chooser
from copilot.tool_questions import TRAIN, TRAIN_CATALOGUE
from copilot.tools import TOOLS


class HandleLLM:
    """Streams chat deltas from the LLMServer deployment (OpenAI chat completion chunks)."""

    def __init__(self, handle: DeploymentHandle, model_id: str) -> None:
        self._handle = handle.options(stream=True)
        self._model_id = model_id

    async def stream_chat(self, messages: list[dict[str, str]], *, max_tokens: int) -> AsyncIterator[str]:
        from ray.serve.llm.openai_api_models import ChatCompletionRequest

        request = ChatCompletionRequest(
            model=self._model_id, messages=messages, max_tokens=max_tokens, temperature=0.2, stream=True
        )
        responses = cast(DeploymentResponseGenerator, self._handle.chat.remote(request))
        async for batch in responses:
            for item in batch if isinstance(batch, list) else [batch]:
                for delta in chat_deltas(item):
                    yield delta


# Server-sent events end a line with CRLF, LF or CR, and nothing else. str.splitlines() also splits at U+0085,
# U+2028, U+2029 and the C0 separators, which JSON leaves unescaped inside strings: a model that writes one
# (or repeats it from the question) would cut its chunk's JSON in two.
SSE_LINE_END = re.compile(r"\r\n|\r|\n")


def chat_deltas(item: Any) -> list[str]:
    """The text deltas of one piece of an OpenAI chat-completion event stream (``data: {...}`` lines)."""
    if not isinstance(item, str):
        error = getattr(item, "error", None)
        message = getattr(error, "message", item)
        if getattr(error, "code", None) == 400:
            # The engine's own client error: the prompt (question, context and history) is longer than its
            # context in tokens, which characters do not tell. A 400 for the question, not a 500.
            raise InvalidInputError(
                f"the question and its context are too long for the model: {message}", code="question_too_long"
            )
        raise RuntimeError(f"the LLM refused the request: {message}")
    found = []
    for line in SSE_LINE_END.split(item):
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        chunk = json.loads(line.removeprefix("data: "))
        if "error" in chunk:
            raise RuntimeError(f"the LLM failed: {chunk['error']}")
        for choice in chunk.get("choices", []):
            # A NUL is no text, and PostgreSQL would refuse the answer that holds it when it is saved.
            text = ((choice.get("delta") or {}).get("content") or "").replace("\x00", "")
            if text:
                found.append(text)
    return found


# Per device when unset: (prompt tokens, summary tokens, passages, earlier turns); None: the model's window
# or COPILOT_ANSWER_TOKENS. CPU figures keep an answer within seconds on 2 cores (bench/copilot_faithfulness.py);
# 768 prompt tokens is what the earlier 3-characters-a-token fit let in for English text, the budget the
# faithfulness goals were first met with, not a figure chosen on that bench.
DEVICE_BUDGETS: dict[str, tuple[int | None, int | None, int, int]] = {
    "cpu": (768, 96, 3, 2),
    "gpu": (None, None, 5, 4),
}


def copilot_limits(settings: Settings) -> CopilotLimits:
    """The answer budgets: explicit settings win, otherwise the device's defaults (``DEVICE_BUDGETS``)."""
    prompt, summary, passages, turns = DEVICE_BUDGETS[settings.copilot_llm_device]
    window = settings.copilot_llm_max_model_len
    summary = min(settings.copilot_summary_tokens or summary or window, settings.copilot_answer_tokens)
    prompt = min(settings.copilot_prompt_tokens or prompt or window, window - summary)
    return CopilotLimits(
        max_upload_bytes=settings.copilot_max_upload_bytes,
        max_question_chars=settings.copilot_max_question_chars,
        questions_per_minute=settings.copilot_questions_per_minute,
        context_tokens=prompt + summary,
        answer_tokens=summary,
        passages=passages if settings.copilot_passages is None else settings.copilot_passages,
        history_turns=turns if settings.copilot_history_turns is None else settings.copilot_history_turns,
        fusion=Fusion(
            k=settings.copilot_rrf_k,
            vector_weight=settings.copilot_rrf_vector_weight,
            text_weight=settings.copilot_rrf_text_weight,
        ),
    )


@serve.deployment(name="CopilotService", max_ongoing_requests=32)
class CopilotService:
    async def __init__(  # type: ignore[misc]  # Serve awaits it
        self,
        llm: DeploymentHandle,
        model_id: str,
        device: Literal["cpu", "gpu"],
        max_model_len: int,
        model_source: str,
    ) -> None:
        settings = get_settings()
        self._pool = await create_pool(settings)
        embedder = await asyncio.to_thread(Embedder, settings.copilot_embedding_model)
        # The engine's device and window (the app's llm args), which a GPU deployment's CPU pods do not set.
        engine = {"copilot_llm_device": device, "copilot_llm_max_model_len": max_model_len}
        limits = copilot_limits(settings.model_copy(update=engine))
        # Fitted here from the packaged question set (seconds): the same embedder reads questions at run time.
        chooser = await asyncio.to_thread(fit_chooser, embedder, TRAIN, list(TOOLS), TRAIN_CATALOGUE)
        # The engine's own tokenizer: prompts are fitted in the tokens its window counts.
        count_tokens = await asyncio.to_thread(load_token_counter, model_source)
        # Requests, not jobs: refused as busy (503) past the timeout, as in the ingress, rather than waiting on.
        database = Database(self._pool, acquire_timeout_s=settings.database_acquire_timeout_s)
        self._copilot = Copilot(database, embedder, HandleLLM(llm, model_id), limits, chooser, count_tokens)

    async def ingest(
        self, claims: Mapping[str, Any], requested_tenant: UUID | None, filename: str, data: bytes
    ) -> dict[str, Any]:
        return await self._copilot.ingest(claims, requested_tenant, filename, data)

    async def ask(
        self, claims: Mapping[str, Any], requested_tenant: UUID | None, question: str, conversation_id: UUID | None
    ) -> AsyncIterator[dict[str, Any]]:
        async for event in self._copilot.ask(claims, requested_tenant, question, conversation_id):
            yield event

    async def check_health(self) -> None:
        async with self._pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
