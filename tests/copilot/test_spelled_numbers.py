from __future__ import annotations

from decimal import Decimal

from copilot.spelled_numbers import read_spelled


def figures(text: str) -> list[Decimal]:
    return read_spelled(text)[0]


def test_compound_number_words_are_one_figure_each():
    assert figures("twenty-five, two hundred and fifty, a dozen, ninety-nine") == [25, 250, 12, 99]


def test_a_figure_before_a_scale_word_is_multiplied_and_not_left_behind():
    assert figures("1.5 million units and 12 thousand") == [1_500_000, 12_000]
    assert read_spelled("SKU-7 has 12 thousand.")[1] == "SKU-7 has  ."


def test_a_word_that_cannot_continue_a_figure_starts_the_next():
    assert figures("two three") == [2, 3]
    assert figures("fifteen five") == [15, 5]


def test_words_that_only_look_like_figures_are_not_read():
    # "one" and "a" are pronouns and articles; ordinals and fractions are ranks and shares, not counts.
    text = "One of the orders needs a second check, a three-way match on the twenty-first, two-thirds of thousands."
    assert figures(text) == []


def test_a_lookalike_letter_is_no_number_word():
    # U+017F (long s) matches "s" under Unicode case-insensitivity but does not lower to it.
    assert figures("\u017fix pallets") == []


def test_half_a_scale_is_half_its_figure():
    # Before, "half a dozen" was read as "a dozen": 12.
    assert figures("half a dozen boxes, half a million units") == [6, 500_000]


def test_a_vague_quantity_of_a_scale_states_no_figure():
    # Before, "a few hundred" and "several thousand" claimed 100 and 1000, so a true estimate was dropped.
    text = "a few hundred, several thousand, some hundreds, many hundred thousand, a couple of dozen, dozens of"
    assert figures(text + " and hundreds of thousands") == []
    assert figures("a few hundred boxes and two hundred pallets") == [200]
