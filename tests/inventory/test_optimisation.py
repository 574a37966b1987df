"""Inventory maths against hand-computed textbook cases, and the simulation check."""

import math

import pytest
from scipy import stats

from inventory.optimisation import (
    Costs,
    DemandRate,
    InventoryPolicyError,
    LeadTime,
    demand_during,
    economic_order_quantity,
    fill_rate,
    normal_loss,
    plan_policy,
    safety_factor_for_fill_rate,
    service_factor,
)
from inventory.simulation import simulate_service_level


def test_service_factor_is_the_standard_normal_quantile():
    assert service_factor(0.95) == pytest.approx(1.6449, abs=1e-4)
    assert service_factor(0.99) == pytest.approx(2.3263, abs=1e-4)
    assert service_factor(0.5) == pytest.approx(0.0, abs=1e-12)


def test_safety_stock_and_reorder_point_with_fixed_lead_time():
    # d = 50/day, sd 10, L = 9 days: sigma_LT = 10 * sqrt(9) = 30; SS = 1.645 * 30 = 49.35; ROP = 450 + SS.
    policy = plan_policy(DemandRate(50, 10), LeadTime(9), 0.95)
    assert policy.lead_time_demand == 450
    assert policy.lead_time_demand_sd == pytest.approx(30.0)
    assert policy.safety_stock == pytest.approx(49.35, abs=0.01)
    assert policy.reorder_point == pytest.approx(499.35, abs=0.01)


def test_lead_time_variability_enters_as_demand_squared_times_lead_time_variance():
    # sqrt(L*sd_d^2 + d^2*sd_L^2) = sqrt(9*100 + 2500*4) = sqrt(10900) = 104.40; SS = 1.645 * 104.40 = 171.73.
    mean, sd = demand_during(9, DemandRate(50, 10), lead_time_sd=2)
    assert (mean, sd) == (450, pytest.approx(104.403, abs=1e-3))
    policy = plan_policy(DemandRate(50, 10), LeadTime(9, 2), 0.95)
    assert policy.safety_stock == pytest.approx(171.73, abs=0.01)
    assert policy.reorder_point == pytest.approx(621.73, abs=0.01)


def test_order_up_to_level_protects_review_period_plus_lead_time():
    # (R, S): d = 10, sd 3, R = 7, L = 3: mean 100, sd 3*sqrt(10) = 9.487, z(0.98) = 2.054, S = 119.48.
    policy = plan_policy(DemandRate(10, 3), LeadTime(3), 0.98, review_periods=7)
    assert policy.protection_demand == 100
    assert policy.protection_demand_sd == pytest.approx(9.487, abs=1e-3)
    assert policy.safety_stock == pytest.approx(19.48, abs=0.01)
    assert policy.order_up_to == pytest.approx(119.48, abs=0.01)
    # The reorder point covers the lead time only, with the same safety stock.
    assert policy.reorder_point == pytest.approx(30 + 19.48, abs=0.01)


def test_eoq_matches_the_harris_wilson_textbook_case():
    # D = 1000 units/year, K = 10 per order, h = 0.50 per unit-year: Q* = sqrt(2*1000*10/0.5) = 200.
    assert economic_order_quantity(1000, Costs(ordering=10, holding_per_period=0.5)) == pytest.approx(200.0)
    # The same in weekly units: demand and holding cost per week give the same quantity.
    weekly = economic_order_quantity(1000 / 52, Costs(ordering=10, holding_per_period=0.5 / 52))
    assert weekly == pytest.approx(200.0)


@pytest.mark.parametrize(("ordering", "holding"), [(1e308, 1e-300), (1e10, 1e-20)])
def test_an_eoq_no_order_could_hold_is_refused_naming_the_costs(ordering, holding):
    # The first overflows to inf (the API answered null for it); the second is 4.5e16 units.
    with pytest.raises(InventoryPolicyError, match="holding cost is too small for this ordering cost") as refused:
        economic_order_quantity(1000, Costs(ordering=ordering, holding_per_period=holding))
    assert refused.value.code == "too_large"


def test_policy_with_costs_orders_the_eoq_but_never_below_the_minimum():
    costs = Costs(ordering=10, holding_per_period=0.5)
    assert plan_policy(DemandRate(1000, 0), LeadTime(0), 0.9, costs=costs).order_quantity == pytest.approx(200.0)
    assert plan_policy(DemandRate(1000, 0), LeadTime(0), 0.9, costs=costs, min_order_quantity=500).order_quantity == 500


def test_normal_loss_function_matches_table_values():
    # Silver, Pyke and Thomas, table of G(k).
    assert normal_loss(0.0) == pytest.approx(0.3989, abs=1e-4)
    assert normal_loss(1.0) == pytest.approx(0.0833, abs=1e-4)
    assert normal_loss(2.0) == pytest.approx(0.0085, abs=1e-4)


def test_safety_factor_for_a_fill_rate_solves_the_loss_equation():
    # beta = 0.99, Q = 200, sigma = 50: G(k) = 0.01 * 200 / 50 = 0.04, k = 1.36 (table: G(1.36) = 0.0400).
    k = safety_factor_for_fill_rate(0.99, 200, 50)
    assert k == pytest.approx(1.36, abs=0.005)
    assert fill_rate(200, 50, k) == pytest.approx(0.99, abs=1e-9)


def test_all_zero_demand_needs_no_stock():
    policy = plan_policy(DemandRate(0, 0), LeadTime(5, 1), 0.95)
    assert (policy.safety_stock, policy.reorder_point, policy.order_up_to) == (0, 0, 0)
    assert policy.expected_fill_rate is None


@pytest.mark.parametrize("level", [0.3, 1.0, float("nan")])
def test_service_levels_outside_half_to_almost_one_are_refused(level):
    with pytest.raises(InventoryPolicyError, match="service level"):
        plan_policy(DemandRate(1, 1), LeadTime(1), level)


def test_negative_or_infinite_inputs_are_refused():
    with pytest.raises(InventoryPolicyError, match="mean demand"):
        DemandRate(-1, 1)
    with pytest.raises(InventoryPolicyError, match="lead time standard deviation"):
        LeadTime(3, math.inf)
    with pytest.raises(InventoryPolicyError, match="holding cost"):
        Costs(ordering=1, holding_per_period=0)


@pytest.mark.parametrize("lead_time", [LeadTime(9), LeadTime(9, 2)], ids=["fixed-lead-time", "variable-lead-time"])
@pytest.mark.parametrize("target", [0.9, 0.95, 0.99])
def test_simulated_service_level_meets_the_target_under_the_normal_model(lead_time, target):
    demand = DemandRate(50, 10)
    policy = plan_policy(demand, lead_time, target)
    result = simulate_service_level(policy.reorder_point, demand, lead_time, target, distribution="normal")
    assert result.meets_target
    assert abs(result.cycle_service_level - target) < 4 * result.standard_error


def test_simulation_reveals_the_shortfall_of_the_normal_approximation_under_skew():
    # Skewed (gamma) lead times and demand: the textbook reorder point falls short, and the simulated
    # quantile reorder point is the one that meets the target.
    demand, lead_time = DemandRate(50, 10), LeadTime(9, 3)
    policy = plan_policy(demand, lead_time, 0.95)
    skewed = simulate_service_level(policy.reorder_point, demand, lead_time, 0.95, distribution="gamma")
    assert not skewed.meets_target
    assert skewed.simulated_reorder_point > policy.reorder_point
    fixed = simulate_service_level(skewed.simulated_reorder_point, demand, lead_time, 0.95, seed=1)
    assert fixed.meets_target


def test_simulated_fill_rate_agrees_with_the_loss_function():
    demand, lead_time = DemandRate(50, 10), LeadTime(9)
    policy = plan_policy(demand, lead_time, 0.95)
    result = simulate_service_level(
        policy.reorder_point, demand, lead_time, 0.95, distribution="normal", order_quantity=100, cycles=50_000
    )
    assert result.fill_rate == pytest.approx(fill_rate(100, 30, service_factor(0.95)), abs=0.002)


def test_a_periodic_reviews_expected_fill_rate_counts_shortages_over_lead_time_and_review():
    # Before, the loss was taken over the lead time alone with a safety factor inflated by the review period's
    # stock: 0.9994 where the normal simulation measures 0.979.
    demand, lead_time = DemandRate(10, 20), LeadTime(4)
    policy = plan_policy(demand, lead_time, 0.95, review_periods=7)
    sd = policy.protection_demand_sd
    assert policy.expected_fill_rate == pytest.approx(1 - sd * normal_loss(policy.z) / 70, abs=1e-9)
    simulated = simulate_service_level(
        policy.order_up_to, demand, lead_time, 0.95, distribution="normal", order_quantity=70, review_periods=7,
        cycles=50_000,
    )  # fmt: skip
    assert policy.expected_fill_rate == pytest.approx(simulated.fill_rate, abs=0.01)


def test_observed_lead_times_are_bootstrapped():
    demand = DemandRate(10, 0)
    # Lead times of 2 or 4 periods, half each: demand 20 or 40, so a reorder point of 30 serves half the cycles.
    result = simulate_service_level(30, demand, LeadTime(3, 1), 0.95, lead_time_samples=[2, 4], cycles=10_000)
    assert result.cycle_service_level == pytest.approx(0.5, abs=0.03)


def test_gamma_lead_time_demand_has_the_textbook_mean_and_spread():
    # Demand is summed per period over a gamma lead time: mean d*L, variance L*sd_d^2 + d^2*sd_L^2.
    demand, lead_time = DemandRate(50, 10), LeadTime(9, 3)
    result = simulate_service_level(0, demand, lead_time, 0.95, order_quantity=1, cycles=50_000)
    assert result.mean_shortage_per_cycle == pytest.approx(450, rel=0.01)  # every unit short of a reorder point 0
    assert result.simulated_reorder_point == pytest.approx(450 + 1.645 * math.sqrt(9 * 100 + 2500 * 9), rel=0.05)


def test_gamma_demand_over_a_fraction_of_a_period_is_a_gamma_of_that_fraction_of_the_shape():
    # Weekly demand 70 (sd 30) over a 3-day lead time: gamma with 3/7 of one week's shape, whose 95% quantile is
    # 67.8. Before, one week's draw scaled by 3/7 (variance (3/7)^2*sd^2) put it at 53.5 and "confirmed" a reorder
    # point that covered 93% of cycles.
    result = simulate_service_level(0, DemandRate(70, 30), LeadTime(3 / 7), 0.95, order_quantity=1, cycles=50_000)
    shape = (70 / 30) ** 2
    assert result.simulated_reorder_point == pytest.approx(
        stats.gamma.ppf(0.95, 3 / 7 * shape, scale=70 / shape), rel=0.03
    )


@pytest.mark.parametrize(
    ("demand", "lead_time"),
    [
        (DemandRate(1e-200, 1), LeadTime(9, 3)),  # an sd beyond any gamma shape the arithmetic keeps
        (DemandRate(50, 10), LeadTime(1, 5e-324)),  # a subnormal lead-time sd
        (DemandRate(50, 10), LeadTime(730, 365)),  # two years of lead time, one draw per cycle
    ],
    ids=["tiny-mean", "subnormal-sd", "two-year-lead-time"],
)
def test_extreme_rates_simulate_finite_figures(demand, lead_time):
    # Before, the first failed with ZeroDivisionError and the second with "negative dimensions"; the third
    # passed, but built a 20,000 x 1,800 matrix of draws for it (a gigabyte, seconds).
    result = simulate_service_level(100, demand, lead_time, 0.95, order_quantity=10)
    assert math.isfinite(result.simulated_reorder_point) and math.isfinite(result.mean_shortage_per_cycle)
