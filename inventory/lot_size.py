"""What a stock policy's order quantity (lot size) rests on, said in the response.

Without an ordering cost there is no EOQ; the lot is then the demand over the review period, and at least over
``DEFAULT_COVER_DAYS`` whatever the forecast's bucket: until 2026-12-07 it was one bucket's demand, so the same history
planned lots of 59 units daily and 404 weekly, and fill rates of 0.953 and 0.993.
"""

from __future__ import annotations

from inventory.optimisation import InventoryPolicy

DEFAULT_COVER_DAYS = 7.0


def lot_size_basis(policy: InventoryPolicy, review_period_days: float, min_order_quantity: float) -> str:
    """Which rule set ``policy.order_quantity`` (before rounding to what can be ordered)."""
    if policy.eoq is not None:
        basis = "EOQ from the ordering and holding costs"
    elif review_period_days > DEFAULT_COVER_DAYS:
        basis = f"the review period's demand ({review_period_days:g} days); give ordering_cost for the EOQ"
    else:
        basis = f"{DEFAULT_COVER_DAYS:g} days' demand (the default cover); give ordering_cost for the EOQ"
    if min_order_quantity > 0 and policy.order_quantity <= min_order_quantity:
        basis += f", raised to min_order_quantity {min_order_quantity:g}"
    return basis
