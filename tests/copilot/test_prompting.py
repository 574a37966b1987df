"""The factual head of an answer: document answers quote their passages; live-data answers cite them."""

from __future__ import annotations

import uuid

import pytest

from common.errors import InvalidInputError
from copilot.prompting import MESSAGE_TOKENS, Prompt, build_prompt, excerpt, facts, question_budget
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


def byte_tokens(text: str) -> int:
    """A byte-level tokenizer without merges: every UTF-8 byte is a token (an emoji four, a Chinese character three)."""
    return len(text.encode())


def prompt_tokens(prompt: Prompt) -> int:
    return sum(byte_tokens(m["content"]) + MESSAGE_TOKENS for m in prompt.messages)


def test_passages_dense_in_tokens_are_fitted_to_the_window_in_the_engines_tokens():
    # Before, passages were fitted at 3 characters a token; SmolLM2 reads Chinese at about 2 tokens a character,
    # so two 900-character chunks overflowed its 2,048-token window and every question about them was refused.
    chunks = [uuid.UUID(int=i) for i in range(3)]
    passages = [
        Passage(c, c, "合同.md", f"第{i}节", None, "如果供应商延迟交货" * 30, 1.0) for i, c in enumerate(chunks)
    ]
    prompt = build_prompt(
        "延迟交货怎么办?", passages, [], [], context_tokens=2048, answer_tokens=96, count_tokens=byte_tokens
    )
    assert prompt.passages and prompt_tokens(prompt) <= 2048 - 96


def test_live_data_is_cut_between_lines_never_inside_a_figure():
    lines = [f"SKU-{i} at WH-0: on hand 1250" for i in range(200)]
    stock = ToolResult("stock_levels", {}, lines, [{}])
    prompt = build_prompt("stock?", [], [stock], [], context_tokens=1024, answer_tokens=96, count_tokens=byte_tokens)
    shown = prompt.messages[-1]["content"].split("\n\nQuestion:")[0].splitlines()
    assert shown[0] == "Live data:" and 1 < len(shown) - 1 < len(lines)
    assert shown[1:] == [f"- {line}" for line in lines[: len(shown) - 1]]
    assert prompt_tokens(prompt) <= 1024 - 96


def test_a_question_the_window_cannot_hold_in_tokens_is_refused_as_too_long():
    with pytest.raises(InvalidInputError) as refused:
        question_budget("😀" * 300, context_tokens=1120, answer_tokens=96, count_tokens=byte_tokens)
    assert refused.value.code == "question_too_long" and "1200 tokens" in refused.value.message


def conversation(turns: int) -> list[dict[str, str]]:
    return [{"role": role, "content": f"{role} {n}"} for n in range(1, turns + 1) for role in ("user", "assistant")]


def test_earlier_turns_are_whole_question_and_answer_pairs():
    # Before, the last N messages were taken as N turns: two turns were one, and an odd N began with an answer.
    prompt = build_prompt("and now?", [], [], conversation(4), context_tokens=2048, answer_tokens=96, history_turns=2)
    assert [m["content"] for m in prompt.messages[1:-1]] == ["user 3", "assistant 3", "user 4", "assistant 4"]


def test_the_latest_turn_is_kept_when_only_one_fits():
    history = conversation(2)
    history[0]["content"] = "user 1 " + "x" * 590
    fixed = 10_000 - question_budget("and now?", context_tokens=10_000, answer_tokens=96)
    prompt = build_prompt("and now?", [], [], history, context_tokens=fixed + 150, answer_tokens=96, history_turns=2)
    assert [m["content"] for m in prompt.messages[1:-1]] == ["user 2", "assistant 2"]


def test_a_passage_longer_than_the_budget_is_quoted_from_its_start_not_left_out():
    # Before, a passage that did not fit whole was left out: a 900-character Chinese chunk (some 1,700 tokens) never
    # fits the CPU budget, so its document was never cited and the copilot said no document matched.
    chunk = Passage(uuid.UUID(int=1), uuid.UUID(int=2), "合同.md", "第1条", None, "延迟交货罚款为1250元。" * 75, 1.0)
    prompt = build_prompt("罚款?", [chunk], [], [], context_tokens=1120, answer_tokens=96, count_tokens=byte_tokens)
    assert prompt.passages == [chunk] and prompt_tokens(prompt) <= 1120 - 96
    quoted = prompt.messages[-1]["content"].split('"""\n')[1].split("\n")[0]
    start = quoted.removesuffix(" …")
    assert quoted.endswith(" …") and chunk.content.startswith(start) and len(start) > 100
    assert not chunk.content[len(start)].isdigit()  # never cut inside a figure: "1250" is not quoted as "125"
