"""The costs an economic order quantity weighs, in one currency the answer names.

The EOQ compares the cost of placing an order with the cost of holding a unit, so both must be in one
currency. A caller gives the ordering cost (and may give the holding cost); a holding cost the caller leaves
out is a share of the product's unit cost, which is usable only when its currency is known and is the one the
caller's costs are in: Chainsight keeps no exchange rates.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.errors import InvalidInputError
from inventory.position import LocationPosition

# Annual holding cost as a share of unit cost when the caller gives none (a common 20-30%).
DEFAULT_HOLDING_RATE = 0.25


@dataclass(frozen=True)
class OrderCosts:
    holding_cost_per_unit_year: float | None
    currency: str | None  # None: the caller's own costs, in a currency they did not name
    holding_cost_source: str | None

    def as_dict(self) -> dict[str, float | str | None]:
        return {
            "holding_cost_per_unit_year": self.holding_cost_per_unit_year,
            "cost_currency": self.currency,
            "holding_cost_source": self.holding_cost_source,
        }


def order_costs(
    position: LocationPosition, ordering_cost: float | None, holding_given: float | None, currency: str | None
) -> OrderCosts:
    if holding_given is not None:
        return OrderCosts(holding_given, currency, "given")
    if ordering_cost is None:
        return OrderCosts(None, currency, None)  # no EOQ asked for: nothing to hold against
    if not position.unit_cost or position.unit_cost_currency is None:
        if position.unit_cost is None:
            state = "has no unit cost"
        elif not position.unit_cost:
            state = "costs 0, which holds nothing against an ordering cost"
        else:
            state = "has a unit cost of unknown currency"
        raise InvalidInputError(
            f"the EOQ needs a holding cost and the product {state}: give holding_cost_per_unit_year",
            code="holding_cost_required",
        )
    if currency is not None and currency != position.unit_cost_currency:
        raise InvalidInputError(
            f"the product's unit cost is in {position.unit_cost_currency} and the costs given are in {currency}: "
            f"give holding_cost_per_unit_year in {currency} (Chainsight keeps no exchange rates)",
            code="currency_mismatch",
            details={"unit_cost_currency": position.unit_cost_currency, "cost_currency": currency},
        )
    return OrderCosts(
        position.unit_cost * DEFAULT_HOLDING_RATE,
        position.unit_cost_currency,
        # As stored (4 decimals), not :g's six significant digits: 1234.5678, never 1234.57 or 2.5e+06.
        f"{DEFAULT_HOLDING_RATE:.0%} a year of the unit cost "
        f"({f'{position.unit_cost:.4f}'.rstrip('0').rstrip('.')} {position.unit_cost_currency})",
    )
