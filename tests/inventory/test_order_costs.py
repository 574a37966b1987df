"""The EOQ's two costs in one currency the answer names (inventory/order_costs.py)."""

from __future__ import annotations

import pytest

from common.errors import InvalidInputError
from inventory.order_costs import order_costs
from inventory.position import LocationPosition


def at_cost(unit_cost: float | None, currency: str | None = "EUR") -> LocationPosition:
    return LocationPosition(unit_cost, currency, on_hand=0.0, reserved=0.0, on_order=0.0)


def test_a_holding_cost_left_out_is_a_quarter_of_the_unit_cost_in_its_currency():
    costs = order_costs(at_cost(8.0, "JPY"), ordering_cost=500.0, holding_given=None, currency=None)
    assert costs.as_dict() == {
        "holding_cost_per_unit_year": 2.0,
        "cost_currency": "JPY",
        "holding_cost_source": "25% a year of the unit cost (8 JPY)",
    }


@pytest.mark.parametrize(("unit_cost", "written"), [(1234.5678, "1234.5678"), (2_500_000.0, "2500000")])
def test_the_holding_cost_source_names_the_unit_cost_as_stored(unit_cost, written):
    # Before, six significant digits: "1234.57" for the 1234.5678 used, "2.5e+06".
    costs = order_costs(at_cost(unit_cost), ordering_cost=100.0, holding_given=None, currency=None)
    assert costs.as_dict()["holding_cost_source"] == f"25% a year of the unit cost ({written} EUR)"


def test_an_ordering_cost_in_another_currency_than_the_unit_cost_is_refused():
    # Before, 50 EUR to order was weighed against a quarter of a 300 JPY cost as if both were one currency.
    with pytest.raises(InvalidInputError, match="unit cost is in JPY and the costs given are in EUR") as refused:
        order_costs(at_cost(300.0, "JPY"), ordering_cost=50.0, holding_given=None, currency="EUR")
    assert refused.value.code == "currency_mismatch"


@pytest.mark.parametrize(
    ("unit_cost", "currency", "state"),
    [(None, "EUR", "has no unit cost"), (4.0, None, "unknown currency"), (0.0, "EUR", "costs 0")],
)
def test_an_eoq_without_a_holding_cost_to_weigh_is_refused_saying_why(unit_cost, currency, state):
    # Before, the EOQ was left out of a 200 answer without a word (or, at a cost of 0, refused as "got 0").
    with pytest.raises(InvalidInputError, match=state) as refused:
        order_costs(at_cost(unit_cost, currency), ordering_cost=50.0, holding_given=None, currency=None)
    assert refused.value.code == "holding_cost_required"


def test_costs_the_caller_gives_are_weighed_as_given_in_the_currency_they_name():
    costs = order_costs(at_cost(300.0, "JPY"), ordering_cost=50.0, holding_given=1.5, currency="EUR")
    assert (costs.holding_cost_per_unit_year, costs.currency, costs.holding_cost_source) == (1.5, "EUR", "given")


def test_without_an_ordering_cost_nothing_is_weighed_and_nothing_is_refused():
    assert order_costs(at_cost(None, None), ordering_cost=None, holding_given=None, currency=None).as_dict() == {
        "holding_cost_per_unit_year": None,
        "cost_currency": None,
        "holding_cost_source": None,
    }
