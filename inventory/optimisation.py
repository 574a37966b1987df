"""Inventory optimisation: safety stock, reorder point, order-up-to level and EOQ from a forecast.

Textbook inventory theory (Silver, Pyke and Thomas, *Inventory and Production Management in Supply
Chains*, ch. 6-7; Axsäter, *Inventory Control*), with demand per period taken from a forecast
(``training.demand_rate`` reads it off one) and lead times from supplier history:

- lead-time demand has mean ``d*L`` and standard deviation ``sqrt(L*sd_d^2 + d^2*sd_L^2)`` (independent
  per-period demand errors, lead time independent of demand);
- a cycle service level ``a`` (probability of no stockout in a replenishment cycle) needs safety
  stock ``z_a*sd`` with ``z_a`` the standard normal quantile;
- continuous review ``(s, Q)``: reorder point ``s = d*L + SS`` and order quantity EOQ
  ``sqrt(2*D*K / h)``; periodic review ``(R, S)``: order-up-to level ``S = d*(R+L) + SS`` with the
  protection interval ``R + L`` in place of ``L``;
- the fill rate (share of demand served from stock) follows from the normal loss function
  ``G(k)``: ``1 - sd*G(k)/Q``.

``inventory.simulation`` checks a policy by Monte Carlo instead of trusting the normal approximation.
Plain numpy/scipy: no Ray, no database.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import ClassVar

from scipy import stats

from common.errors import InvalidInputError
from inventory.schemas import LARGEST_QUANTITY


class InventoryPolicyError(InvalidInputError, ValueError):
    """A service level, cost, lead time or demand rate that no inventory policy can be computed from."""

    code = "invalid_policy_input"


# Cycle service levels a planner may ask for: below 0.5 the safety stock is negative, and at 1 it is
# infinite under any unbounded demand distribution.
MIN_SERVICE_LEVEL = 0.5
MAX_SERVICE_LEVEL = 0.9999
LARGEST_ORDER_QUANTITY = float(LARGEST_QUANTITY)


@dataclass(frozen=True)
class _MeanAndSd:
    """A mean and its standard deviation, both finite and non-negative; ``names`` is how a refusal names them."""

    names: ClassVar[tuple[str, str]]

    mean: float
    sd: float

    def __post_init__(self) -> None:
        for name, value in zip(self.names, (self.mean, self.sd), strict=True):
            _require_finite_non_negative(name, value)


@dataclass(frozen=True)
class DemandRate(_MeanAndSd):
    """Demand per period: its mean and the standard deviation of one period's forecast error."""

    names = ("mean demand per period", "demand standard deviation")


@dataclass(frozen=True)
class LeadTime(_MeanAndSd):
    """Replenishment lead time in periods of the demand's frequency: mean and standard deviation."""

    names = ("mean lead time", "lead time standard deviation")

    sd: float = 0.0


@dataclass(frozen=True)
class Costs:
    """Cost of placing one order and of holding one unit for one period (same currency)."""

    ordering: float
    holding_per_period: float

    def __post_init__(self) -> None:
        _require_finite_non_negative("ordering cost", self.ordering)
        if not (math.isfinite(self.holding_per_period) and self.holding_per_period > 0):
            raise InventoryPolicyError(f"holding cost per period must be positive, got {self.holding_per_period}")


@dataclass(frozen=True)
class InventoryPolicy:
    """Stock targets for one product at one location, all quantities in the demand's unit."""

    service_level: float
    z: float
    demand_per_period: float
    demand_sd_per_period: float
    lead_time_periods: float
    lead_time_sd_periods: float
    review_periods: float
    protection_periods: float
    lead_time_demand: float
    lead_time_demand_sd: float
    protection_demand: float
    protection_demand_sd: float
    safety_stock: float
    reorder_point: float
    order_up_to: float
    order_quantity: float
    eoq: float | None
    expected_fill_rate: float | None

    def as_dict(self) -> dict[str, float | None]:
        return asdict(self)


def validate_service_level(service_level: float) -> float:
    if not (isinstance(service_level, int | float) and MIN_SERVICE_LEVEL <= service_level <= MAX_SERVICE_LEVEL):
        raise InventoryPolicyError(
            f"service level must be between {MIN_SERVICE_LEVEL} and {MAX_SERVICE_LEVEL}, got {service_level!r}"
        )
    return float(service_level)


def service_factor(service_level: float) -> float:
    """``z``: the standard normal quantile of the cycle service level."""
    return float(stats.norm.ppf(validate_service_level(service_level)))


def demand_during(periods: float, demand: DemandRate, lead_time_sd: float = 0.0) -> tuple[float, float]:
    """Mean and standard deviation of demand over ``periods`` whose length varies with sd ``lead_time_sd``.

    ``sqrt(periods*sd_d^2 + d^2*sd_L^2)``: the variance of a random sum of independent per-period demands.
    """
    _require_finite_non_negative("periods", periods)
    mean = demand.mean * periods
    sd = math.sqrt(periods * demand.sd**2 + demand.mean**2 * lead_time_sd**2)
    return mean, sd


def safety_stock(service_level: float, demand_sd: float) -> float:
    """``z_a * sd`` for the cycle service level ``a``."""
    return service_factor(service_level) * demand_sd


def economic_order_quantity(demand_per_period: float, costs: Costs) -> float:
    """Harris-Wilson EOQ ``sqrt(2*D*K / h)`` with demand and holding cost over the same period.

    An EOQ past the largest quantity an order keeps (10^14) could never be ordered: it is refused, naming
    the costs, rather than answered (a tiny holding cost against a large ordering cost overflows to inf).
    """
    _require_finite_non_negative("demand per period", demand_per_period)
    quantity = math.sqrt(2.0 * demand_per_period * costs.ordering / costs.holding_per_period)
    if not quantity <= LARGEST_ORDER_QUANTITY:
        raise InventoryPolicyError(
            f"the economic order quantity sqrt(2 x {demand_per_period:g} x {costs.ordering:g} / "
            f"{costs.holding_per_period:g}) is {quantity:g}, past the largest quantity an order keeps "
            f"({LARGEST_ORDER_QUANTITY:g}): the holding cost is too small for this ordering cost",
            code="too_large",
        )
    return quantity


def normal_loss(k: float) -> float:
    """Standard normal loss function ``G(k) = φ(k) - k*(1 - Φ(k))``: expected shortfall beyond ``k``."""
    return float(stats.norm.pdf(k) - k * stats.norm.sf(k))


def fill_rate(order_quantity: float, demand_sd: float, k: float) -> float:
    """Expected fill rate of an ``(s, Q)`` policy with safety factor ``k``: ``1 - sd*G(k)/Q``."""
    if order_quantity <= 0:
        raise InventoryPolicyError(f"order quantity must be positive, got {order_quantity}")
    return max(0.0, 1.0 - demand_sd * normal_loss(k) / order_quantity)


def safety_factor_for_fill_rate(target: float, order_quantity: float, demand_sd: float) -> float:
    """The smallest ``k`` whose expected fill rate reaches ``target`` (solves ``sd*G(k) = (1-b)*Q``).

    May be negative when the order quantity alone covers most of the demand variability.
    """
    if not 0.0 < target < 1.0:
        raise InventoryPolicyError(f"fill rate target must lie strictly between 0 and 1, got {target}")
    if order_quantity <= 0:
        raise InventoryPolicyError(f"order quantity must be positive, got {order_quantity}")
    if demand_sd == 0:
        return 0.0
    shortfall = (1.0 - target) * order_quantity / demand_sd
    # G is strictly decreasing from +inf to 0: bracket and solve.
    low, high = -10.0, 10.0
    if normal_loss(low) <= shortfall:
        return low
    from scipy.optimize import brentq

    return float(brentq(lambda k: normal_loss(k) - shortfall, low, high, xtol=1e-10))


def plan_policy(
    demand: DemandRate,
    lead_time: LeadTime,
    service_level: float,
    *,
    review_periods: float = 0.0,
    costs: Costs | None = None,
    min_order_quantity: float = 0.0,
    cover_periods: float = 1.0,
) -> InventoryPolicy:
    """Safety stock, reorder point, order-up-to level and order quantity for a cycle service level.

    ``review_periods`` is ``R`` of a periodic ``(R, S)`` review (0: continuous review). Safety stock
    protects the interval ``R + L``; the reorder point covers the lead time only (what a continuous
    review needs), the order-up-to level the whole protection interval. The order quantity is the EOQ
    when costs are given (at least ``min_order_quantity``), otherwise the demand over ``R``, at least over
    ``cover_periods`` (a cover in days, so the lot does not depend on the forecast's bucket).
    """
    _require_finite_non_negative("review periods", review_periods)
    z = service_factor(service_level)
    lt_mean, lt_sd = demand_during(lead_time.mean, demand, lead_time.sd)
    protection = lead_time.mean + review_periods
    pr_mean, pr_sd = demand_during(protection, demand, lead_time.sd)
    ss = z * pr_sd
    eoq = economic_order_quantity(demand.mean, costs) if costs is not None else None
    quantity = max(eoq if eoq is not None else demand.mean * max(review_periods, cover_periods), min_order_quantity)
    # Continuous review: shortages per order of Q over the lead time. Periodic review: per review cycle (demand
    # over R) over lead time and review period, the interval S covers (the lead time alone overstated it).
    if review_periods > 0:
        cycle, shortage_sd, k = demand.mean * review_periods, pr_sd, z
    else:
        cycle, shortage_sd, k = quantity, lt_sd, ss / lt_sd if lt_sd > 0 else z
    return InventoryPolicy(
        service_level=float(service_level),
        z=z,
        demand_per_period=demand.mean,
        demand_sd_per_period=demand.sd,
        lead_time_periods=lead_time.mean,
        lead_time_sd_periods=lead_time.sd,
        review_periods=float(review_periods),
        protection_periods=protection,
        lead_time_demand=lt_mean,
        lead_time_demand_sd=lt_sd,
        protection_demand=pr_mean,
        protection_demand_sd=pr_sd,
        safety_stock=ss,
        reorder_point=lt_mean + ss,
        order_up_to=pr_mean + ss,
        order_quantity=quantity,
        eoq=eoq,
        expected_fill_rate=fill_rate(cycle, shortage_sd, k) if cycle > 0 and shortage_sd > 0 else None,
    )


def units_per_cycle(policy: InventoryPolicy) -> float | None:
    """What one replenishment cycle brings, the fill rate's denominator: ``Q`` under continuous review, one review
    period's demand under periodic review (not ``Q``, an EOQ or minimum order that a review does not order each
    time: it overstated the simulated fill rate); None when it is 0."""
    periodic = policy.review_periods > 0
    quantity = policy.demand_per_period * policy.review_periods if periodic else policy.order_quantity
    return quantity if quantity > 0 else None


def quantity_to_order(
    position: float,
    *,
    reorder_point: float,
    order_quantity: float,
    order_up_to: float | None = None,
    min_order_quantity: float = 0.0,
    demand_per_period: float,
) -> float:
    """What to order now at inventory position ``position`` (on hand - reserved + on order).

    Periodic review (``order_up_to`` given): up to that level, and at least ``min_order_quantity`` when anything
    is ordered (before, 45 under a minimum of 1000). Continuous review (``order_quantity`` is at least the
    minimum already): nothing above the reorder point, nor at it when no demand will take the position below
    (before, a product without demand at a position of 0 ordered its minimum of 500); below it, or at it under
    demand, ``order_quantity``, plus the shortfall when that alone leaves the position at or below the reorder
    point (the shortfall alone with an order quantity of 0: a zero ordering cost, or no demand and no minimum
    order, which before ordered nothing however far below the reorder point).
    """
    if order_up_to is not None:
        needed = max(order_up_to - position, 0.0)
        return max(needed, min_order_quantity) if needed > 0 else 0.0
    if position > reorder_point or (position == reorder_point and demand_per_period <= 0):
        return 0.0
    if position + order_quantity <= reorder_point:
        return reorder_point - position + order_quantity
    return order_quantity


def _require_finite_non_negative(what: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        raise InventoryPolicyError(f"{what} must be a finite non-negative number, got {value!r}")
