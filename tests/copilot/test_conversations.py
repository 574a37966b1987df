from __future__ import annotations

import pytest

from common.errors import NotFoundError, RateLimitedError
from copilot import conversations
from inventory.listing import ListQuery
from tests.copilot.conftest import as_user


async def start_with_answer(database, tenant, user=None):
    async def op(tx):
        conversation = await conversations.start(tx.conn, tx.tenant_id, "Stock question")
        await conversations.add_message(tx.conn, tx.tenant_id, conversation["id"], "user", "How much?")
        answer = await conversations.add_message(
            tx.conn, tx.tenant_id, conversation["id"], "assistant", "42", sources=[{"number": 1}]
        )
        return conversation, answer

    return await as_user(database, tenant, user)(op)


async def test_a_conversation_keeps_its_messages_in_order(database, make_tenant):
    tenant = await make_tenant()
    conversation, _ = await start_with_answer(database, tenant)
    history = await as_user(database, tenant)(lambda tx: conversations.messages(tx.conn, conversation["id"]))
    assert [(m["role"], m["content"]) for m in history] == [("user", "How much?"), ("assistant", "42")]
    assert history[1]["sources"] == [{"number": 1}]


async def test_all_51_conversations_are_reachable_through_the_pages_latest_first(database, make_tenant):
    # Before, the list stopped at the latest 50 with nothing to say there were more.
    tenant = await make_tenant()
    run = as_user(database, tenant)

    async def start_51(tx):
        # One transaction: all share updated_at, so the id alone orders them across pages.
        return [(await conversations.start(tx.conn, tx.tenant_id, f"Question {n}"))["id"] for n in range(51)]

    started = await run(start_51)
    await run(lambda tx: conversations.add_message(tx.conn, tx.tenant_id, started[0], "user", "Still there?"))
    first = await run(lambda tx: conversations.list_conversations(tx.conn, ListQuery(limit=50)))
    rest = await run(
        lambda tx: conversations.list_conversations(tx.conn, ListQuery(limit=50, cursor=first.next_cursor))
    )
    listed = [c["id"] for c in first.items + rest.items]
    assert (len(first.items), rest.next_cursor) == (50, None)
    assert listed[0] == started[0] and sorted(listed) == sorted(started)


async def test_a_conversation_of_201_messages_reads_in_full_back_to_its_opening_turn(database, make_tenant):
    # Before, only the latest 200 came back and the opening question was out of reach.
    tenant = await make_tenant()
    run = as_user(database, tenant)
    conversation = await run(lambda tx: conversations.start(tx.conn, tx.tenant_id, "Long talk"))

    async def talk(tx):
        for n in range(201):
            role = "user" if n % 2 == 0 else "assistant"
            await conversations.add_message(tx.conn, tx.tenant_id, conversation["id"], role, f"turn {n}")

    await run(talk)
    latest = await run(lambda tx: conversations.message_page(tx.conn, conversation["id"]))
    opening = await run(lambda tx: conversations.message_page(tx.conn, conversation["id"], cursor=latest.next_cursor))
    assert [m["content"] for m in latest.items] == [f"turn {n}" for n in range(1, 201)]
    assert ([m["content"] for m in opening.items], opening.next_cursor) == (["turn 0"], None)


async def test_another_users_conversation_is_not_found_even_in_the_same_tenant(database, make_tenant):
    tenant = await make_tenant()
    conversation, answer = await start_with_answer(database, tenant, tenant.planner)
    colleague = as_user(database, tenant, tenant.admin)
    with pytest.raises(NotFoundError):
        await colleague(lambda tx: conversations.get(tx.conn, conversation["id"]))
    assert (await colleague(lambda tx: conversations.list_conversations(tx.conn, ListQuery(limit=50)))).items == []
    assert await colleague(lambda tx: conversations.messages(tx.conn, conversation["id"])) == []
    with pytest.raises(NotFoundError):
        await colleague(lambda tx: conversations.give_feedback(tx.conn, tx.tenant_id, answer["id"], 1, None))


async def test_feedback_is_stored_once_per_user_and_can_be_changed(database, make_tenant, owner_pool):
    tenant = await make_tenant()
    _, answer = await start_with_answer(database, tenant)
    run = as_user(database, tenant)
    await run(lambda tx: conversations.give_feedback(tx.conn, tx.tenant_id, answer["id"], 1, None))
    await run(lambda tx: conversations.give_feedback(tx.conn, tx.tenant_id, answer["id"], -1, "wrong figure"))
    rows = await owner_pool.fetch(
        "SELECT rating, comment FROM app.copilot_feedback WHERE message_id = $1", answer["id"]
    )
    assert [(r["rating"], r["comment"]) for r in rows] == [(-1, "wrong figure")]


async def test_feedback_on_a_question_rather_than_an_answer_is_refused(database, make_tenant):
    tenant = await make_tenant()
    conversation, _ = await start_with_answer(database, tenant)
    run = as_user(database, tenant)
    (question, _) = await run(lambda tx: conversations.messages(tx.conn, conversation["id"]))
    with pytest.raises(NotFoundError, match="assistant message"):
        await run(lambda tx: conversations.give_feedback(tx.conn, tx.tenant_id, question["id"], 1, None))


async def test_the_rate_limit_counts_only_the_callers_recent_questions(database, make_tenant):
    tenant = await make_tenant()
    planner, admin = as_user(database, tenant, tenant.planner), as_user(database, tenant, tenant.admin)
    for _ in range(2):
        await planner(lambda tx: conversations.check_rate_limit(tx.conn, tx.tenant_id, 2))
    with pytest.raises(RateLimitedError, match="at most 2 questions per minute"):
        await planner(lambda tx: conversations.check_rate_limit(tx.conn, tx.tenant_id, 2))
    # A colleague's quota is separate, and so is the model route's.
    await admin(lambda tx: conversations.check_rate_limit(tx.conn, tx.tenant_id, 2))
    await planner(lambda tx: conversations.admit_llm_request(tx.conn, tx.tenant_id, 2))


async def test_deleting_ones_conversations_does_not_reset_the_question_limit(database, make_tenant):
    # Before, questions were counted as the caller's messages, which went with their conversations.
    tenant = await make_tenant()
    planner = as_user(database, tenant, tenant.planner)
    for _ in range(2):
        await planner(lambda tx: conversations.check_rate_limit(tx.conn, tx.tenant_id, 2))
        conversation, _ = await start_with_answer(database, tenant, tenant.planner)
        await planner(lambda tx, c=conversation: conversations.delete(tx.conn, c["id"]))
    with pytest.raises(RateLimitedError):
        await planner(lambda tx: conversations.check_rate_limit(tx.conn, tx.tenant_id, 2))


async def test_llm_calls_are_limited_per_user_with_the_seconds_until_a_slot_frees(database, make_tenant):
    tenant = await make_tenant()
    planner, admin = as_user(database, tenant, tenant.planner), as_user(database, tenant, tenant.admin)
    for _ in range(2):
        await planner(lambda tx: conversations.admit_llm_request(tx.conn, tx.tenant_id, 2))
    with pytest.raises(RateLimitedError, match="at most 2 model calls per minute") as refused:
        await planner(lambda tx: conversations.admit_llm_request(tx.conn, tx.tenant_id, 2))
    assert refused.value.details["limit_per_minute"] == 2
    assert 1 <= refused.value.details["retry_after_s"] <= 60
    # The refusal is not counted, and a colleague's quota is separate.
    assert await planner(lambda tx: tx.conn.fetchval("SELECT count(*) FROM app.copilot_requests")) == 2
    await admin(lambda tx: conversations.admit_llm_request(tx.conn, tx.tenant_id, 2))


async def test_llm_calls_older_than_a_minute_no_longer_count_and_are_pruned(database, make_tenant, owner_pool):
    tenant = await make_tenant()
    planner = as_user(database, tenant, tenant.planner)
    await owner_pool.execute(
        "INSERT INTO app.copilot_requests (tenant_id, user_id, created_at) "
        "SELECT $1, $2, now() - interval '61 seconds' FROM generate_series(1, 3)",
        tenant.id,
        tenant.planner,
    )
    await planner(lambda tx: conversations.admit_llm_request(tx.conn, tx.tenant_id, 2))
    assert await planner(lambda tx: tx.conn.fetchval("SELECT count(*) FROM app.copilot_requests")) == 1
