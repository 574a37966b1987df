"""Grounded answers end to end in the domain (real PostgreSQL and embeddings; the LLM is a scripted stand-in
that speaks the ``LLM`` protocol, so the model's words are known and the checks are exact)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from common.database import Database
from common.errors import InvalidInputError, NotFoundError
from copilot import conversations
from copilot.assistant import Copilot, CopilotLimits


class ScriptedLLM:
    """Streams a fixed reply in small deltas and records each prompt it was given."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.prompts: list[list[dict[str, str]]] = []

    async def stream_chat(self, messages: list[dict[str, str]], *, max_tokens: int) -> AsyncIterator[str]:
        self.prompts.append(messages)
        for start in range(0, len(self.reply), 7):
            yield self.reply[start : start + 7]


async def answer(database, embedder, tenant, llm: ScriptedLLM, question: str) -> dict:
    copilot = Copilot(database, embedder, llm, CopilotLimits())
    events = [e async for e in copilot.ask(tenant.claims(), None, question)]
    return events[-1]


async def test_invented_figures_are_dropped_and_the_answer_says_it_was_corrected(database, embedder, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(42)})
    llm = ScriptedLLM("We have 1,000 units of SKU-0. SKU-0 has 42 available at WH-0. ")
    done = await answer(database, embedder, tenant, llm, "How much Product 0 do we have in stock?")
    assert done["answer"].startswith("From stock_levels:\n- SKU-0 (Product 0) at WH-0: on hand 42")
    assert "SKU-0 has 42 available at WH-0." in done["answer"] and "1,000" not in done["answer"]
    assert "(Corrected: 1 sentence(s)" in done["answer"]
    assert done["corrected"] == [{"sentence": "We have 1,000 units of SKU-0.", "unsupported": ["1000"]}]


async def test_when_every_tool_finds_nothing_the_model_is_not_asked(database, embedder, make_tenant):
    tenant = await make_tenant()
    llm = ScriptedLLM("Yes, three orders are running late.")
    done = await answer(database, embedder, tenant, llm, "Which purchase orders are overdue?")
    assert done["answer"] == "Nothing found: no late purchase orders."
    assert llm.prompts == []


async def test_echoed_prompt_lines_unknown_citations_and_repeats_never_reach_the_user(database, embedder, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(42)})
    llm = ScriptedLLM(
        "Question: How much do we have? SKU-0 has 42 available. SKU-0 has 42 available. See [4] for more. "
        'The product "Frozen" is out. '
    )
    done = await answer(database, embedder, tenant, llm, "How much Product 0 do we have in stock?")
    summary = done["answer"].split("\n\n")[1].strip()
    assert summary == "SKU-0 has 42 available."
    assert [c["unsupported"] for c in done["corrected"]] == [["an echo of the prompt"], ["[4]"], ['"Frozen"']]


class QueryLog(Database):
    """The real pool; records the text of every query each transaction's connection runs."""

    def __init__(self, pool) -> None:
        super().__init__(pool)
        self.queries: list[str] = []

    async def run(self, claims, requested_tenant, operation):
        async def logged(tx):
            def record(query) -> None:
                self.queries.append(query.query)

            tx.conn.add_query_logger(record)
            try:
                return await operation(tx)
            finally:
                tx.conn.remove_query_logger(record)

        return await super().run(claims, requested_tenant, logged)


async def test_what_the_question_names_is_looked_up_once_per_turn(database, embedder, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(42)})
    logged = QueryLog(database.pool)
    copilot = Copilot(logged, embedder, ScriptedLLM("SKU-0 has 42 available at WH-0."), CopilotLimits())
    [e async for e in copilot.ask(tenant.claims(), None, "When does PO-000001 for Product 0 arrive?")]
    lookups = [q for q in logged.queries if "FROM app.purchase_orders WHERE number = ANY" in q]
    assert len(lookups) == 1


class DiesMidAnswer(ScriptedLLM):
    async def stream_chat(self, messages: list[dict[str, str]], *, max_tokens: int) -> AsyncIterator[str]:
        yield "SKU-0 has "
        raise RuntimeError("the engine died")


async def test_an_answer_that_fails_stores_neither_its_question_nor_a_conversation(database, embedder, make_tenant):
    # Before, the question (and a new conversation) was stored before the answer: each failed retry left another
    # conversation holding only a question, and in a continued one it became history for the next turn.
    tenant = await make_tenant(stock={0: Decimal(42)})
    copilot = Copilot(database, embedder, DiesMidAnswer(""), CopilotLimits())
    with pytest.raises(RuntimeError, match="the engine died"):
        [e async for e in copilot.ask(tenant.claims(), None, "How much Product 0 do we have in stock?")]
    stored = await database.run(
        tenant.claims(), None, lambda tx: tx.conn.fetchval("SELECT count(*) FROM app.copilot_conversations")
    )
    assert stored == 0
    done = await answer(database, embedder, tenant, ScriptedLLM("SKU-0 has 42 available at WH-0. "), "Stock of SKU-0?")
    questions = await database.run(
        tenant.claims(), None, lambda tx: conversations.messages(tx.conn, done["conversation_id"])
    )
    assert [m["role"] for m in questions] == ["user", "assistant"]


class DeletesTheConversation(ScriptedLLM):
    """Deletes the conversation it answers in (as the user might, from another tab) before it writes a word."""

    def __init__(self, reply: str, database, claims, conversation_id) -> None:
        super().__init__(reply)
        self.delete = lambda: database.run(claims, None, lambda tx: conversations.delete(tx.conn, conversation_id))

    async def stream_chat(self, messages: list[dict[str, str]], *, max_tokens: int) -> AsyncIterator[str]:
        await self.delete()
        async for delta in super().stream_chat(messages, max_tokens=max_tokens):
            yield delta


async def test_a_conversation_deleted_while_its_answer_is_written_is_unknown_and_keeps_no_turn(
    database, embedder, make_tenant
):
    # Before, the turn was inserted without looking again: the messages' foreign key refused it, a server error.
    tenant = await make_tenant(stock={0: Decimal(42)})
    started = await database.run(tenant.claims(), None, lambda tx: conversations.start(tx.conn, tenant.id, "Stock"))
    llm = DeletesTheConversation("SKU-0 has 42 available at WH-0. ", database, tenant.claims(), started["id"])
    copilot = Copilot(database, embedder, llm, CopilotLimits())
    with pytest.raises(NotFoundError, match=f"conversation {started['id']} not found") as refused:
        [e async for e in copilot.ask(tenant.claims(), None, "Stock of SKU-0?", started["id"])]
    assert refused.value.code == "unknown_conversation"
    stored = await database.run(
        tenant.claims(),
        None,
        lambda tx: tx.conn.fetchrow(
            "SELECT (SELECT count(*) FROM app.copilot_conversations) AS conversations,"
            " (SELECT count(*) FROM app.copilot_messages) AS messages"
        ),
    )
    assert dict(stored) == {"conversations": 0, "messages": 0}


async def test_a_question_longer_than_the_window_in_tokens_is_refused_before_any_work(database, embedder, make_tenant):
    # Before, characters bounded the question (300 emoji pass a 2,000-character limit) and the engine refused
    # the prompt only after retrieval and the tools had run.
    tenant = await make_tenant()
    llm = ScriptedLLM("never asked")
    copilot = Copilot(database, embedder, llm, CopilotLimits(context_tokens=1120, answer_tokens=96))
    with pytest.raises(InvalidInputError) as refused:
        [e async for e in copilot.ask(tenant.claims(), None, "😀" * 300)]
    assert refused.value.code == "question_too_long" and llm.prompts == []


async def test_a_count_of_the_rows_a_tool_listed_reaches_the_user(database, embedder, make_tenant):
    # Before, the checker knew no counts: "1 line" of a one-row answer was dropped as unsupported, with a note
    # saying the answer had been corrected.
    tenant = await make_tenant(stock={0: Decimal(42)})
    llm = ScriptedLLM("There is 1 stock line for SKU-0. ")
    done = await answer(database, embedder, tenant, llm, "How much Product 0 do we have in stock?")
    assert "There is 1 stock line for SKU-0." in done["answer"] and "Corrected" not in done["answer"]
