"""Rounding what a stock policy orders to what can be ordered."""

from __future__ import annotations

import pytest

from inventory.order_rounding import order_step, round_up_to_step


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
