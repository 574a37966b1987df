"""The copilot's use cases: ingest a document, answer a question (streamed), over plain collaborators.

``Copilot`` knows nothing of Ray or HTTP: it gets a ``Database`` (tenant transactions under row-level
security), an ``Embedder`` and an ``LLM`` that streams text. The Serve deployment supplies an LLM that
calls the vLLM deployment through a handle.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID, uuid4

import numpy as np

from common.database import Database, TenantTransaction
from common.errors import InvalidInputError
from copilot import conversations, documents, grounding, retrieval
from copilot.embeddings import Embedder
from copilot.mentions import Mentions, find_mentions
from copilot.prompting import build_prompt, facts, question_budget
from copilot.retrieval import Fusion, Passage
from copilot.tokens import TokenCounter, utf8_upper_bound
from copilot.tool_choice import ToolChooser, mask_mentions
from copilot.tools import ToolResult, run_tools


class LLM(Protocol):
    def stream_chat(self, messages: list[dict[str, str]], *, max_tokens: int) -> AsyncIterator[str]:
        """Text deltas of the assistant's reply."""
        ...


@dataclass(frozen=True)
class CopilotLimits:
    max_upload_bytes: int = 10 * 1024 * 1024
    max_question_chars: int = 2000
    questions_per_minute: int = 20
    context_tokens: int = 2048
    answer_tokens: int = 256
    passages: int = 5
    history_turns: int = 4
    fusion: Fusion = field(default_factory=Fusion)


class Copilot:
    def __init__(
        self,
        database: Database,
        embedder: Embedder,
        llm: LLM,
        limits: CopilotLimits,
        chooser: ToolChooser | None = None,
        count_tokens: TokenCounter = utf8_upper_bound,
    ) -> None:
        self.database = database
        self.embedder = embedder
        self.llm = llm
        self.limits = limits
        self.chooser = chooser  # None: tools are chosen by their intent words
        self.count_tokens = count_tokens  # the engine's tokenizer; the default overcounts, so nothing overflows

    async def ingest(
        self, claims: Mapping[str, Any], requested_tenant: UUID | None, filename: str, data: bytes
    ) -> dict[str, Any]:
        """Parse, embed and store a document (replacing one of the same name) in one transaction."""

        async def check_writer(tx: TenantTransaction) -> None:
            tx.require_write()

        # Refuse a viewer before spending CPU on embeddings.
        await self.database.run(claims, requested_tenant, check_writer)
        prepared = await asyncio.to_thread(
            documents.prepare, filename, data, self.embedder, max_bytes=self.limits.max_upload_bytes
        )

        async def op(tx: TenantTransaction) -> dict[str, Any]:
            tx.require_write()
            return await documents.store(tx.conn, tx.tenant_id, tx.user_id, prepared)

        return await self.database.run(claims, requested_tenant, op)

    async def choose_tools(self, question: str, embedding: np.ndarray, mentions: Mentions) -> set[str] | None:
        """The classifier's tools for ``question`` with the things it names masked (None: no classifier, the
        intent words decide). A name is no intent: "stock of Shipping box small" is asked as "stock of the
        product"."""
        if self.chooser is None:
            return None
        masked = mask_mentions(question, mentions)
        if masked != question:
            embedding = await asyncio.to_thread(self.embedder.embed_one, masked)
        return self.chooser.choose(masked, embedding)

    async def search(
        self, claims: Mapping[str, Any], requested_tenant: UUID | None, query: str, limit: int = 5
    ) -> list[Passage]:
        embedding = await asyncio.to_thread(self.embedder.embed_one, query)

        async def op(tx: TenantTransaction) -> list[Passage]:
            return await retrieval.search(tx.conn, query, embedding, limit=limit, fusion=self.limits.fusion)

        return await self.database.run(claims, requested_tenant, op)

    async def ask(
        self,
        claims: Mapping[str, Any],
        requested_tenant: UUID | None,
        question: str,
        conversation_id: UUID | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Events: ``start`` (conversation, sources, tool calls), ``token`` (text), ``done`` (stored message).

        Validation, the rate limit and the conversation check happen before the first event, so a bad
        request fails before any streaming starts.
        """
        question = question.strip()
        if not question:
            raise InvalidInputError("the question is empty", code="empty_question")
        if len(question) > self.limits.max_question_chars:
            raise InvalidInputError(
                f"the question is {len(question)} characters; the limit is {self.limits.max_question_chars}",
                code="question_too_long",
                details={"length": len(question), "max_length": self.limits.max_question_chars},
            )
        # Characters do not bound tokens (an emoji is three): a question the window cannot hold is refused here.
        question_budget(
            question,
            context_tokens=self.limits.context_tokens,
            answer_tokens=self.limits.answer_tokens,
            count_tokens=self.count_tokens,
        )
        embedding = await asyncio.to_thread(self.embedder.embed_one, question)

        async def gather(
            tx: TenantTransaction,
        ) -> tuple[UUID, UUID, list[dict[str, Any]], list[Passage], list[ToolResult], list[str]]:
            await conversations.check_rate_limit(tx.conn, tx.tenant_id, self.limits.questions_per_minute)
            # The question is stored with its answer (``save``), not before it: an answer that fails left a
            # question without one in the conversation (a new, empty-answered one per retry), read as history.
            history: list[dict[str, Any]] = []
            if conversation_id is not None:
                await conversations.get(tx.conn, conversation_id)  # 404 for another user's
                history = await conversations.messages(tx.conn, conversation_id, limit=2 * self.limits.history_turns)
            passages = await retrieval.search(
                tx.conn, question, embedding, limit=self.limits.passages, fusion=self.limits.fusion
            )
            # One lookup of what the question names: it masks the question for tool choice and filters the tools.
            mentions = await find_mentions(tx.conn, question)
            chosen = await self.choose_tools(question, embedding, mentions)
            tools = await run_tools(tx, question, chosen, mentions=mentions)
            names = await grounding.tenant_names(tx.conn)
            return conversation_id or uuid4(), tx.tenant_id, history, passages, tools, names

        # The transaction commits before generation: no connection is held while the model writes.
        conv_id, tenant_id, history, passages, tool_results, names = await self.database.run(
            claims, requested_tenant, gather
        )
        prompt = build_prompt(
            question,
            passages,
            tool_results,
            history,
            context_tokens=self.limits.context_tokens,
            answer_tokens=self.limits.answer_tokens,
            history_turns=self.limits.history_turns,
            count_tokens=self.count_tokens,
        )
        tool_calls = [r.as_call() for r in tool_results]
        yield {"event": "start", "conversation_id": str(conv_id), "sources": prompt.sources, "tool_calls": tool_calls}
        # The facts come first, from the tools and passages themselves; the model only adds a summary, and
        # each of its sentences reaches the user only if every figure, date, code and name in it is in them.
        head = facts(tool_results, prompt)
        parts: list[str] = [head, "\n\n"]
        yield {"event": "token", "text": head + "\n\n"}
        checker = grounding.Checker(
            [line for r in tool_results for line in r.lines]
            + [p.content for p in prompt.passages]
            + [p.citation() for p in prompt.passages],
            names,
            listed=[len(r.data) for r in tool_results],
            passages=len(prompt.passages),
        )
        summary = grounding.SentenceFilter(checker, citations=len(prompt.passages))
        # When every tool of the turn found nothing there is nothing to summarise: the small model, asked
        # anyway, contradicts the "nothing found" ("Yes, deliveries are running late"), so it is not asked.
        if not tool_results or any(r.data for r in tool_results):
            async for delta in self.llm.stream_chat(prompt.messages, max_tokens=self.limits.answer_tokens):
                for sentence in summary.feed(delta):
                    parts.append(sentence)
                    yield {"event": "token", "text": sentence}
        tail = "".join(summary.flush()) + summary.correction()
        if tail:
            parts.append(tail)
            yield {"event": "token", "text": tail}
        answer = "".join(parts).strip()

        async def save(tx: TenantTransaction) -> dict[str, Any]:
            if conversation_id is None:
                await conversations.start(tx.conn, tenant_id, question[:80], conv_id)
            else:
                await conversations.lock(tx.conn, conversation_id)  # it may have been deleted while the model wrote
            await conversations.add_message(tx.conn, tenant_id, conv_id, "user", question)
            return await conversations.add_message(
                tx.conn, tenant_id, conv_id, "assistant", answer, sources=prompt.sources, tool_calls=tool_calls
            )

        message = await self.database.run(claims, requested_tenant, save)
        yield {
            "event": "done",
            "conversation_id": str(conv_id),
            "message_id": str(message["id"]),
            "answer": answer,
            "sources": prompt.sources,
            "tool_calls": tool_calls,
            "corrected": [{"sentence": v.sentence, "unsupported": v.unsupported} for v in summary.dropped],
        }
