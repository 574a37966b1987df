"""What can be ordered: a quantity rounded up to the order multiple, and to whole items where the unit is a count.

A reorder rule's ``order_multiple`` (a case of 12, a pallet of 40) is what reorder proposals round up to; a stock
policy rounds its order quantity and what it says to order now the same way, so the two never disagree by the
fraction of a case (before 2026-12-07 the policy said "order 2074.06" where the proposal said 396). A count unit is
never ordered in fractions of an item, whatever the multiple; a measured unit (kg, m, l) is. The shared catalogue
(``app.units_of_measure``) decides which is which: category ``unit`` counts, and one item is ``1 / ratio`` of it (a
twelfth of a dozen, a thousandth of a thousand). The list below decides only for a tenant's own codes it lacks.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

COUNT_CATEGORY = "unit"
# Fallback for codes outside the catalogue: units counted in whole items. Anything else is measured.
COUNT_UNITS = frozenset(
    {
        "each", "ea", "pc", "pcs", "piece", "pieces", "unit", "units", "item", "items", "pair", "pairs", "set",
        "sets", "box", "boxes", "case", "cases", "carton", "cartons", "pack", "packs", "pallet", "pallets", "roll",
        "rolls", "bag", "bags", "bottle", "bottles", "can", "cans", "drum", "drums", "dozen", "reel", "reels",
    }
)  # fmt: skip
# A hair off a whole number of steps (float noise of the maths, 396.0000000001, or a 1/12 step) is that number.
WHOLE_TOLERANCE = Decimal("1e-9")


def whole_item(unit_of_measure: str | None, category: str | None = None, ratio: float | None = None) -> float | None:
    """One item in ``unit_of_measure`` (1 for each, 1/12 for a dozen), None for a measured unit. ``category`` and
    ``ratio`` are the catalogue's for the code (None: not in it, the fallback list decides, one item being 1)."""
    if category is not None:
        return 1 / ratio if category == COUNT_CATEGORY and ratio else None
    if unit_of_measure is not None and unit_of_measure.strip().lower() in COUNT_UNITS:
        return 1.0
    return None


def order_step(
    order_multiple: float | None,
    unit_of_measure: str | None,
    category: str | None = None,
    ratio: float | None = None,
) -> float | None:
    """What an order is rounded up to: the order multiple (a positive one), for a count unit at least one whole
    item and a whole number of them; None: any quantity can be ordered."""
    multiple = order_multiple if order_multiple is not None and order_multiple > 0 else None
    item = whole_item(unit_of_measure, category, ratio)
    if item is None:
        return multiple
    return max(round_up_to_step(multiple, item), item) if multiple is not None else item


def round_up_to_step(quantity: float, step: float | None) -> float:
    """``quantity`` rounded up to a multiple of ``step`` (0 stays 0), in Decimal as reorder proposals round, so a
    step of 0.1 gives 2.4, not 2.4000000000000004."""
    if step is None or quantity <= 0:
        return quantity
    exact_step = Decimal(repr(step))
    steps = Decimal(repr(quantity)) / exact_step
    nearest = steps.to_integral_value()
    close = abs(steps - nearest) <= WHOLE_TOLERANCE * max(Decimal(1), abs(steps))
    whole = nearest if close else steps.to_integral_value(rounding=ROUND_CEILING)
    return float(whole * exact_step)
