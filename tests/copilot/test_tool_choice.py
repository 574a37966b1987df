from __future__ import annotations

import pytest

from copilot.tool_choice import fit_chooser
from copilot.tool_questions import HELD_OUT, TRAIN
from copilot.tools import TOOLS


@pytest.fixture(scope="module")
def chooser(embedder):
    return fit_chooser(embedder, TRAIN, list(TOOLS))


def test_held_out_questions_are_never_in_the_training_set():
    assert not {q.lower() for q, _ in TRAIN} & {q.lower() for q, _ in HELD_OUT}


def test_every_labelled_tool_is_a_registered_tool():
    assert {t for _, tools in TRAIN + HELD_OUT for t in tools} <= set(TOOLS)


def test_a_two_part_question_chooses_both_tools(chooser, embedder):
    question = "Overdue POs and which supplier is riskiest"  # held out: not fitted on
    assert chooser.choose(question, embedder.embed_one(question)) == {"purchase_orders", "supplier_risk"}


def test_a_document_question_chooses_no_live_data_tool(chooser, embedder):
    question = "What does the contract say about liability?"  # held out
    assert chooser.choose(question, embedder.embed_one(question)) == set()
