"""What can be ordered: a quantity rounded up to the order multiple, and to whole items where the unit is a count.

A reorder rule's ``order_multiple`` (a case of 12, a pallet of 40) is what reorder proposals round up to; a stock
policy rounds its order quantity and what it says to order now by the same rule (``order_step``), so the two never
disagree by the fraction of a case (before 2026-12-07 the policy said "order 2074.06" where the proposal said 396)
or of an item (before 2026-12-08 a proposal for a product counted in ``each`` without a multiple said 12.37). A
count unit is never ordered in fractions of an item, whatever the multiple; a measured unit (kg, m, l) is. The
shared catalogue (``app.units_of_measure``) decides which is which: category ``unit`` counts, and one item is
``1 / ratio`` of it (a twelfth of a dozen, a thousandth of a thousand). The list below decides only for a tenant's
own codes it lacks.

The rule is exact, in Decimal (``exact_order_step``, ``round_up``), as reorder proposals and the orders drafted
from them keep quantities; ``order_step`` and ``round_up_to_step`` are the same rule for the policy's floats.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction
from math import gcd

COUNT_CATEGORY = "unit"
# Fallback for codes outside the catalogue: units counted in whole items. Anything else is measured.
COUNT_UNITS = frozenset(
    {
        "each", "ea", "pc", "pcs", "piece", "pieces", "unit", "units", "item", "items", "pair", "pairs", "set",
        "sets", "box", "boxes", "case", "cases", "carton", "cartons", "pack", "packs", "pallet", "pallets", "roll",
        "rolls", "bag", "bags", "bottle", "bottles", "can", "cans", "drum", "drums", "dozen", "reel", "reels",
    }
)  # fmt: skip
# Decimals a quantity keeps (numeric(18, 4) on order lines, rules and proposals).
KEPT_PLACES = 4
# A hair off a whole number of steps (float noise of the maths, 396.0000000001, or a 1/12 step) is that number.
WHOLE_TOLERANCE = Decimal("1e-9")


def whole_item(
    unit_of_measure: str | None, category: str | None = None, ratio: Decimal | float | None = None
) -> Decimal | None:
    """The fewest whole items in ``unit_of_measure`` that a kept quantity (four decimals) holds exactly: 1 for
    each, 0.001 of a thousand, 0.5 of a pair, 0.25 of a dozen (3 items: 1/12 has no four-decimal figure, and an
    order line of 2.3333 dozen is not 28 items); None for a measured unit. ``category`` and ``ratio`` are the
    catalogue's for the code (None: not in it, the fallback list decides, one item being 1)."""
    if category is not None:
        exact_ratio = _exact(ratio)
        if category != COUNT_CATEGORY or not exact_ratio:
            return None
        item = 1 / Fraction(exact_ratio)
    elif unit_of_measure is not None and unit_of_measure.strip().lower() in COUNT_UNITS:
        item = Fraction(1)
    else:
        return None
    # n items of p/q are a four-decimal figure when q divides n * p * 10^4.
    items = item.denominator // gcd(item.denominator, item.numerator * 10**KEPT_PLACES)
    step = item * items
    return Decimal(step.numerator) / Decimal(step.denominator)  # exact: its denominator divides 10^4


def exact_order_step(
    order_multiple: Decimal | None,
    unit_of_measure: str | None,
    category: str | None = None,
    ratio: Decimal | float | None = None,
) -> Decimal | None:
    """What an order is rounded up to: the order multiple (a positive one), for a count unit at least one whole
    item and a whole number of them; None: any quantity can be ordered."""
    multiple = order_multiple if order_multiple is not None and order_multiple > 0 else None
    item = whole_item(unit_of_measure, category, ratio)
    if item is None:
        return multiple
    return max(round_up(multiple, item), item) if multiple is not None else item


def round_up(quantity: Decimal, step: Decimal | None) -> Decimal:
    """``quantity`` rounded up to a whole number of ``step`` (a positive one), exactly, however many steps that is
    (0 and below stay as they are). Until 2026-12-08 ``divmod`` raised past 28 digits of steps: 12.37 kg to a
    multiple of 1e-27 was a 500."""
    if step is None or quantity <= 0:
        return quantity
    whole = -(-Fraction(quantity) // Fraction(step))  # the ceiling, on exact fractions
    with localcontext() as exact:  # enough digits for the product to be exact
        exact.prec = max(exact.prec, len(str(whole)) + len(step.as_tuple().digits))
        return whole * step


def order_step(
    order_multiple: float | None,
    unit_of_measure: str | None,
    category: str | None = None,
    ratio: float | None = None,
) -> float | None:
    """``exact_order_step`` for the policy's floats."""
    step = exact_order_step(_exact(order_multiple), unit_of_measure, category, ratio)
    return None if step is None else float(step)


def round_up_to_step(quantity: float, step: float | None) -> float:
    """``round_up`` for the policy's floats: in Decimal, so a step of 0.1 gives 2.4, not 2.4000000000000004, and
    a hair over a whole number of steps (float noise) is that number."""
    if step is None or quantity <= 0:
        return quantity
    exact, exact_step = Decimal(repr(quantity)), Decimal(repr(step))
    nearest = (exact / exact_step).to_integral_value() * exact_step
    if abs(exact - nearest) <= WHOLE_TOLERANCE * max(exact_step, exact):
        exact = nearest
    return float(round_up(exact, exact_step))


def _exact(value: Decimal | float | None) -> Decimal | None:
    """A float as the decimal it prints as (12.0 -> 12, 0.1 -> 0.1, not its binary expansion)."""
    return Decimal(repr(value)) if isinstance(value, float) else value
