"""The factual head of an answer: document answers quote their passages; live-data answers cite them."""

from __future__ import annotations

import uuid

from copilot.prompting import Prompt, excerpt, facts
from copilot.retrieval import Passage
from copilot.tools import ToolResult

PASSAGE = Passage(
    uuid.uuid4(), uuid.uuid4(), "terms.md", "Payment terms", None, "Invoices are payable\n45 days net.", 1.0
)


def test_a_document_answer_quotes_each_passage_with_its_citation():
    head = facts([], Prompt([], [PASSAGE]))
    assert head == "Sources:\n[1] terms.md, section 'Payment terms': \"Invoices are payable 45 days net.\""


def test_a_live_data_answer_cites_the_passages_without_quoting_them():
    stock = ToolResult("stock_levels", {}, ["SKU-0 at WH-0: on hand 5"], [{"on_hand": 5}])
    head = facts([stock], Prompt([], [PASSAGE]))
    assert head.splitlines() == [
        "From stock_levels:",
        "- SKU-0 at WH-0: on hand 5 [stock_levels#1]",
        "Sources:",
        "[1] terms.md, section 'Payment terms'",
    ]


def test_nothing_found_comes_first():
    empty = ToolResult("purchase_orders", {}, ["no late purchase orders"])
    assert facts([empty], Prompt([], [])).startswith("Nothing found: no late purchase orders.")


def test_a_long_passage_is_cut_between_words_never_inside_a_figure():
    assert excerpt("payable within 1,250 days", limit=18) == "payable within …"


def test_a_passage_without_spaces_is_not_cut_inside_a_figure():
    # Before, with no space to cut at, the cut fell inside the figure: 1250 was quoted as "125".
    quoted = excerpt("交货期" * 132 + "为1250元")
    assert quoted.endswith("为 …") and "125" not in quoted
