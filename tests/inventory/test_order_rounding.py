"""Rounding what a stock policy orders to what can be ordered."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.order_rounding import order_step, round_up, round_up_to_step


@pytest.mark.parametrize(
    ("multiple", "unit", "step"),
    [(12, "each", 12.0), (None, "each", 1.0), (0, "Box", 1.0), (0.5, "pcs", 1.0), (2.5, "kg", 2.5), (None, "kg", None)],
)
def test_the_step_is_the_multiple_and_a_whole_unit_for_a_count_unit(multiple, unit, step):
    assert order_step(multiple, unit) == step


def test_a_quantity_is_rounded_up_never_down():
    assert round_up_to_step(2074.057605, 12) == 2076
    assert round_up_to_step(385.0000000001, 1) == 385  # float noise of a whole figure is that figure
    assert round_up_to_step(0.2, 1) == 1
    assert round_up_to_step(0, 12) == 0
    assert round_up_to_step(3.21, None) == 3.21
    assert round_up_to_step(3.21, 2.5) == 5


@pytest.mark.parametrize(
    ("multiple", "unit", "category", "ratio", "step"),
    [
        # the catalogue's count units: 1/ratio is one whole item, as many as a four-decimal quantity keeps exactly
        (None, "dozen", "unit", 12, 0.25),  # 3 items: 1/12 (2.3333 dozen for 28 items) is no whole number of them
        (None, "thousand", "unit", 1000, 0.001),
        (None, "pair", "unit", 2, 0.5),
        (None, "each", "unit", 1, 1.0),
        (0.1, "dozen", "unit", 12, 0.25),  # a multiple of a fraction of an item: whole items
        (None, "kg", "weight", 1, None),
        (None, "box", None, None, 1.0),  # a tenant's own code the catalogue lacks: the fallback list
        (None, "drum_200l", None, None, None),
    ],
)
def test_a_catalogue_count_unit_steps_by_one_whole_item(multiple, unit, category, ratio, step):
    assert order_step(multiple, unit, category, ratio) == (None if step is None else pytest.approx(step))


def test_decimal_steps_round_without_float_noise():
    assert round_up_to_step(2.35, 0.1) == 2.4  # was 2.4000000000000004
    assert round_up_to_step(0.7, 0.1) == 0.7
    assert round_up_to_step(13 / 12, 1 / 12) == pytest.approx(13 / 12)
    assert round_up_to_step(1.0, 0.3) == 1.2


@pytest.mark.parametrize(
    ("quantity", "step", "rounded"),
    [
        # Before, divmod raised decimal.InvalidOperation past 28 digits of quotient (a 500 from the policy).
        (Decimal("12.37"), Decimal("1E-27"), Decimal("12.370000000000000000000000000")),
        (Decimal("99999999999999.9999"), Decimal("1E-27"), Decimal("99999999999999.9999")),
        (Decimal("99999999999999.5"), Decimal("3E-30"), Decimal("99999999999999.500000000000000000000000000001")),
        (Decimal("2.1"), Decimal("0.25"), Decimal("2.25")),
    ],
)
def test_a_quantity_is_rounded_up_exactly_whatever_the_steps_it_holds(quantity, step, rounded):
    assert round_up(quantity, step) == rounded
    assert round_up_to_step(float(quantity), float(step)) == float(rounded)
