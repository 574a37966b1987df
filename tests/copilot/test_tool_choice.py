from __future__ import annotations

from decimal import Decimal

import pytest

from copilot.assistant import Copilot, CopilotLimits
from copilot.mentions import Mentions
from copilot.tool_choice import accuracy, fit_chooser, mask_mentions
from copilot.tool_questions import HELD_OUT, TRAIN, TRAIN_CATALOGUE
from copilot.tool_validation import CATALOGUE, VALIDATION
from copilot.tools import TOOLS

# Product names with other tools' words in them; none is in TRAIN_CATALOGUE.
TRICKY_NAMES = ("Shipping box small", "Risk assessment kit", "Forecast display panel", "Order picker battery")


@pytest.fixture(scope="module")
def chooser(embedder):
    return fit_chooser(embedder, TRAIN, list(TOOLS), TRAIN_CATALOGUE)


def test_the_training_held_out_and_validation_questions_are_disjoint():
    train, held_out, validation = ({q.lower() for q, _ in s} for s in (TRAIN, HELD_OUT, VALIDATION))
    assert not train & held_out and not train & validation and not held_out & validation


def test_every_labelled_tool_is_a_registered_tool():
    assert {t for _, tools in TRAIN + HELD_OUT + VALIDATION for t in tools} <= set(TOOLS)


def test_named_things_are_masked_as_their_kind():
    mentions = Mentions(
        products=[{"sku": "PKG-BOX-S", "name": "Shipping box small"}],
        suppliers=[{"code": "SUP-ACME", "name": "Acme Fasteners Ltd"}],
        purchase_orders=[{"number": "PO-000012"}],
        shipments=[{"number": "SH-000003", "tracking_number": "1Z42"}],
    )
    question = "Do PO 12 and SH-000003 (1Z42) carry shipping box small or PKG-BOX-S from Acme Fasteners?"
    assert mask_mentions(question, mentions) == (
        "Do the purchase order and the shipment (the shipment) carry the product or the product from the supplier?"
    )


def test_a_code_that_names_nothing_is_masked_too():
    assert mask_mentions("How much XYZ-0001 is left?", Mentions()) == "How much the item is left?"


@pytest.mark.parametrize("name", TRICKY_NAMES)
def test_a_product_name_does_not_change_the_chosen_tools(chooser, embedder, name):
    mentions = Mentions(products=[{"sku": "X-1", "name": name}])
    masked = mask_mentions(f"How many units of {name} are on hand?", mentions)
    assert chooser.choose(masked, embedder.embed_one(masked)) == {"stock_levels"}


def test_a_two_part_question_chooses_both_tools(chooser, embedder):
    question = "Overdue POs and which supplier is riskiest"  # held out: not fitted on
    assert chooser.choose(question, embedder.embed_one(question)) == {"purchase_orders", "supplier_risk"}


def test_a_document_question_chooses_no_live_data_tool(chooser, embedder):
    question = "What does the contract say about liability?"  # held out
    assert chooser.choose(question, embedder.embed_one(question)) == set()


def test_the_validation_questions_keep_their_accuracy(chooser, embedder):
    # 0.846 when the method was settled (bench/copilot_tool_choice.py); a floor against regressions.
    assert accuracy(embedder, chooser, VALIDATION, CATALOGUE) >= 0.8


async def test_the_copilot_masks_the_tenants_own_product_names(database, embedder, make_tenant, owner_pool, chooser):
    tenant = await make_tenant(stock={0: Decimal(7)})
    async with owner_pool.acquire() as conn:
        await conn.execute("UPDATE app.products SET name = 'Shipping box small' WHERE id = $1", tenant.products[0])

    class Silent:
        async def stream_chat(self, messages, *, max_tokens):
            yield ""

    copilot = Copilot(database, embedder, Silent(), CopilotLimits(), chooser)
    events = [e async for e in copilot.ask(tenant.claims(), None, "How many Shipping box small are on hand?")]
    assert [call["tool"] for call in events[0]["tool_calls"]] == ["stock_levels"]
