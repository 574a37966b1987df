"""What can be ordered: a quantity rounded up to the order multiple, and to whole units where the unit is a count.

A reorder rule's ``order_multiple`` (a case of 12, a pallet of 40) is what reorder proposals round up to; a stock
policy rounds its order quantity and what it says to order now the same way, so the two never disagree by the
fraction of a case (before 2026-12-07 the policy said "order 2074.06" where the proposal said 396). A count unit
(each, box, pallet ...) is never ordered in fractions, whatever the multiple; a measured unit (kg, m, l) is.
"""

from __future__ import annotations

import math

# Units counted in whole items. Anything else (kg, g, t, m, m2, l, ml, h ...) is measured and may be fractional.
COUNT_UNITS = frozenset(
    {
        "each", "ea", "pc", "pcs", "piece", "pieces", "unit", "units", "item", "items", "pair", "pairs", "set",
        "sets", "box", "boxes", "case", "cases", "carton", "cartons", "pack", "packs", "pallet", "pallets", "roll",
        "rolls", "bag", "bags", "bottle", "bottles", "can", "cans", "drum", "drums", "dozen", "reel", "reels",
    }
)  # fmt: skip


def is_count_unit(unit_of_measure: str | None) -> bool:
    return unit_of_measure is not None and unit_of_measure.strip().lower() in COUNT_UNITS


def order_step(order_multiple: float | None, unit_of_measure: str | None) -> float | None:
    """What an order is rounded up to: the order multiple (a positive one), for a count unit at least one whole
    unit and a whole number of them; None: any quantity can be ordered."""
    multiple = order_multiple if order_multiple is not None and order_multiple > 0 else None
    if not is_count_unit(unit_of_measure):
        return multiple
    return float(max(math.ceil(multiple), 1)) if multiple is not None else 1.0


def round_up_to_step(quantity: float, step: float | None) -> float:
    """``quantity`` rounded up to a multiple of ``step`` (0 stays 0). A hair above a multiple (float noise of the
    maths, 396.0000000001) is that multiple, not the next one."""
    if step is None or quantity <= 0:
        return quantity
    steps = quantity / step
    nearest = round(steps)
    whole = nearest if math.isclose(steps, nearest, rel_tol=1e-9, abs_tol=1e-9) else math.ceil(steps)
    return float(whole * step)
