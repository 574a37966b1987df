"""Monte Carlo check of a reorder point (``simulate_service_level``), instead of trusting the normal
approximation of ``inventory.optimisation``: it draws lead times (from a distribution or from observed lead
times) and demand per period (gamma, so never negative), and counts the cycles whose lead-time demand
exceeds the reorder point. Plain numpy: no Ray, no database.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from inventory.optimisation import DemandRate, InventoryPolicyError, LeadTime, validate_service_level


@dataclass(frozen=True)
class SimulationResult:
    """Monte Carlo outcome of a reorder point: the cycle service level it achieves, and the one that would."""

    distribution: str
    cycles: int
    cycle_service_level: float
    standard_error: float
    target: float
    meets_target: bool
    #: The target quantile of the simulated lead-time demand: the reorder point that meets the target
    #: under the simulated distributions (above the normal-theory one when demand or lead time is skewed).
    simulated_reorder_point: float
    mean_shortage_per_cycle: float
    fill_rate: float | None

    def as_dict(self) -> dict[str, float | int | bool | str | None]:
        return asdict(self)


SIMULATION_DISTRIBUTIONS = ("normal", "gamma")


def simulate_service_level(
    reorder_point: float,
    demand: DemandRate,
    lead_time: LeadTime,
    target: float,
    *,
    distribution: str = "gamma",
    lead_time_samples: Sequence[float] | None = None,
    order_quantity: float | None = None,
    cycles: int = 20_000,
    seed: int = 0,
    review_periods: float = 0.0,
) -> SimulationResult:
    """The share of replenishment cycles in which demand over the lead time stays within ``reorder_point``; with
    ``review_periods`` (periodic review), demand over the lead time plus the review period within the order-up-to
    level passed as ``reorder_point``, the interval that level protects.

    Each cycle draws a lead time, bootstrapped from ``lead_time_samples`` when given, then the demand
    during it:

    - ``normal``: the model behind the formulas. Lead time normal (truncated at 0), demand given the
      lead time ``L`` normal with mean ``d*L`` and variance ``L*sd_d^2``: checks the arithmetic.
    - ``gamma``: what stock actually meets. Lead time gamma with the same mean and sd, and demand a
      gamma process: each period gamma with the demand's mean and sd, a fraction ``f`` of one gamma
      with ``f`` times its shape (variance ``f*sd_d^2``), so ``L`` periods are one gamma of ``L`` times
      the shape: never negative and right-skewed, so the normal approximation can fall short of the
      target, and ``simulated_reorder_point`` says by how much.

    The target counts as met when the simulated level is no more than three standard errors below
    it. With ``order_quantity``, the fill rate is ``1 - mean shortage per cycle / Q``.
    """
    target = validate_service_level(target)
    if distribution not in SIMULATION_DISTRIBUTIONS:
        raise InventoryPolicyError(f"distribution must be one of {SIMULATION_DISTRIBUTIONS}, got {distribution!r}")
    if cycles < 100:
        raise InventoryPolicyError(f"simulate at least 100 cycles, got {cycles}")
    rng = np.random.default_rng(seed)
    if lead_time_samples is not None and len(lead_time_samples) > 0:
        observed = np.asarray(lead_time_samples, dtype=float)
        if not np.all(np.isfinite(observed)) or np.any(observed < 0):
            raise InventoryPolicyError("lead time samples must be finite and non-negative")
        lead_times = rng.choice(observed, size=cycles, replace=True)
    elif distribution == "normal":
        lead_times = np.maximum(rng.normal(lead_time.mean, lead_time.sd, cycles), 0.0)
    else:
        lead_times = _gamma(rng, lead_time.mean, lead_time.sd, cycles)
    lead_times = lead_times + max(review_periods, 0.0)
    if distribution == "normal":
        lead_time_demand = rng.normal(demand.mean * lead_times, demand.sd * np.sqrt(lead_times))
    else:
        # The sum of k independent gamma(a, s) periods is gamma(k*a, s), for a fraction of a period too: one draw
        # per cycle, where a matrix of cycles x periods took a gigabyte and seconds for a two-year lead time. (A
        # whole period's draw scaled by the fraction had variance f^2*sd^2, and under-covered a 3-day lead time
        # of weekly demand.)
        lead_time_demand = _gamma_sum(rng, demand.mean, demand.sd, lead_times)
    shortage = np.maximum(lead_time_demand - reorder_point, 0.0)
    level = float(np.mean(shortage <= 0))
    error = math.sqrt(max(level * (1 - level), 1e-12) / cycles)
    fill = None
    if order_quantity is not None and order_quantity > 0:
        fill = max(0.0, 1.0 - float(shortage.mean()) / order_quantity)
    return SimulationResult(
        distribution=distribution,
        cycles=cycles,
        cycle_service_level=level,
        standard_error=error,
        target=target,
        meets_target=level >= target - 3 * error,
        simulated_reorder_point=float(np.quantile(lead_time_demand, target)),
        mean_shortage_per_cycle=float(shortage.mean()),
        fill_rate=fill,
    )


def _gamma(rng: np.random.Generator, mean: float, sd: float, size: int) -> np.ndarray:
    """Gamma draws with the given mean and sd; the constant ``mean`` when either is 0."""
    if mean <= 0 or sd <= 0:
        return np.full(size, max(mean, 0.0))
    shape = _shape(mean, sd)
    return rng.gamma(shape, mean / shape, size)


def _gamma_sum(rng: np.random.Generator, mean: float, sd: float, periods: np.ndarray) -> np.ndarray:
    """Gamma-process demand over ``periods`` (per draw, whole or not) of gamma demand with this mean and sd."""
    if mean <= 0 or sd <= 0:
        return periods * max(mean, 0.0)
    shape = _shape(mean, sd)
    some = periods > 0
    total = np.zeros(len(periods))
    total[some] = rng.gamma(shape * periods[some], mean / shape)
    return total


def _shape(mean: float, sd: float) -> float:
    """``(mean/sd)^2``, kept within [1e-6, 1e12]: beyond (an sd under a millionth of the mean, or a thousand
    times it) the draws are the bound's, and the arithmetic would overflow to infinite or NaN draws."""
    ratio = mean / sd
    return min(max(ratio * ratio if ratio < 1e6 else 1e12, 1e-6), 1e12)
