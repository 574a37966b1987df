"""The copilot's conversations (in process): every conversation and every message reachable through the cursor."""

from __future__ import annotations

from copilot import conversations

COPILOT = "/api/v1/ai/copilot"


async def test_all_51_conversations_are_listed_over_two_pages_and_none_to_a_colleague(http, database, make_tenant):
    # Before, GET /conversations was a bare list of the latest 50, with no cursor to the 51st.
    tenant = await make_tenant()

    async def start_51(tx):
        return [str((await conversations.start(tx.conn, tx.tenant_id, f"Q{n}"))["id"]) for n in range(51)]

    started = await database.run(tenant.claims(), None, start_51)
    first = (await http.get(f"{COPILOT}/conversations", headers=tenant.headers())).json()
    rest = await http.get(f"{COPILOT}/conversations", params={"cursor": first["next_cursor"]}, headers=tenant.headers())
    assert rest.status_code == 200, rest.text
    assert (len(first["items"]), rest.json()["next_cursor"]) == (50, None)
    assert sorted(c["id"] for c in first["items"] + rest.json()["items"]) == sorted(started)
    colleague = await http.get(f"{COPILOT}/conversations", headers=tenant.headers(tenant.admin))
    assert colleague.json() == {"items": [], "next_cursor": None}


async def test_a_conversation_of_201_messages_reads_back_to_its_opening_question(http, database, make_tenant):
    # Before, GET /conversations/{id} gave the latest 200 messages and no way to the first.
    tenant = await make_tenant()

    async def talk(tx):
        conversation = await conversations.start(tx.conn, tx.tenant_id, "Long talk")
        for n in range(201):
            role = "user" if n % 2 == 0 else "assistant"
            await conversations.add_message(tx.conn, tx.tenant_id, conversation["id"], role, f"turn {n}")
        return conversation["id"]

    url = f"{COPILOT}/conversations/{await database.run(tenant.claims(), None, talk)}"
    latest = (await http.get(url, headers=tenant.headers())).json()
    opening = (await http.get(url, params={"cursor": latest["next_cursor"]}, headers=tenant.headers())).json()
    assert [m["content"] for m in latest["messages"]] == [f"turn {n}" for n in range(1, 201)]
    assert ([m["content"] for m in opening["messages"]], opening["next_cursor"]) == (["turn 0"], None)
    assert opening["title"] == "Long talk"
