"""Supplier lead times and on-time probability from purchase-order history, with few and many receipts."""

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from training.errors import ForecastInputError
from training.kaplan_meier import kaplan_meier
from training.supply import estimate_lead_time, lead_time_cdf
from training.supply_arrivals import predict_open_orders

START = datetime(2025, 1, 1, 9, tzinfo=UTC)


def history(lead_times_days, promised_days=None):
    issued = [START + timedelta(days=7 * i) for i in range(len(lead_times_days))]
    promised = promised_days if promised_days is not None else [None] * len(lead_times_days)
    return pd.DataFrame(
        {
            "issued_at": issued,
            "expected_date": [
                (i + timedelta(days=p)).date() if p is not None else None for i, p in zip(issued, promised, strict=True)
            ],
            "first_received_at": [i + timedelta(days=d) for i, d in zip(issued, lead_times_days, strict=True)],
        }
    )


def test_lead_time_distribution_from_a_long_history():
    rng = np.random.default_rng(0)
    days = rng.gamma(25, 0.4, 200)  # mean 10, sd 2
    estimate = estimate_lead_time(history(days, [12] * 200), nominal_days=30)
    assert estimate.basis == "history"
    assert estimate.mean_days == pytest.approx(10, abs=0.4)
    assert estimate.sd_days == pytest.approx(2, abs=0.3)
    assert estimate.quantiles_days["p10"] < estimate.quantiles_days["p50"] < estimate.quantiles_days["p90"]
    # P(lead time <= 12 days and a bit, since the order is due by the end of the expected day)
    assert estimate.on_time_probability == pytest.approx(np.mean(days <= 12.6), abs=0.05)


def test_on_time_probability_uses_laplace_rule_with_few_receipts():
    estimate = estimate_lead_time(history([5, 6], [7, 7]), nominal_days=5)
    assert estimate.on_time_orders == 2
    assert estimate.on_time_probability == pytest.approx(0.75)  # (2 + 1) / (2 + 2)
    low, high = estimate.on_time_interval
    assert low < 0.75 < high


def test_an_expected_date_an_erp_writes_for_none_is_no_due_date():
    # 9999-12-31 is past what pandas keeps: before, the supplier's lead-time answer failed on it.
    orders = history([5, 6, 9], [7, 7, 7])
    orders.loc[2, "expected_date"] = date(9999, 12, 31)
    estimate = estimate_lead_time(orders)
    assert estimate.receipts == 3
    assert estimate.on_time_orders == 2
    assert estimate.on_time_probability == pytest.approx(0.75)  # the two orders with a due date, both on time


def test_few_receipts_are_shrunk_towards_the_nominal_lead_time():
    estimate = estimate_lead_time(history([20]), nominal_days=10, prior_weight=3)
    assert estimate.basis == "blended with nominal"
    assert estimate.mean_days == pytest.approx((20 + 3 * 10) / 4)
    assert estimate.sd_days == pytest.approx(0.25 * estimate.mean_days)


def test_no_receipts_fall_back_to_the_nominal_lead_time_and_say_so():
    estimate = estimate_lead_time(history([]), nominal_days=14)
    assert (estimate.basis, estimate.mean_days, estimate.receipts) == ("nominal", 14, 0)
    assert estimate.on_time_probability is None
    assert any("nominal" in note for note in estimate.notes)


def test_no_receipts_and_no_nominal_lead_time_estimate_nothing():
    estimate = estimate_lead_time(history([]))
    assert (estimate.basis, estimate.mean_days, estimate.quantiles_days) == ("none", None, {})


def test_late_orders_report_their_mean_delay():
    estimate = estimate_lead_time(history([10, 12, 14], [10, 10, 10]))
    assert estimate.on_time_orders == 1
    assert estimate.mean_delay_days == pytest.approx(3.0)


def test_missing_columns_are_refused():
    with pytest.raises(ForecastInputError, match="first_received_at"):
        estimate_lead_time(pd.DataFrame({"issued_at": [], "expected_date": []}))


def test_open_orders_get_arrival_dates_and_a_conditional_on_time_probability():
    estimate = estimate_lead_time(history(np.full(20, 10.0) + np.tile([-2, 2], 10)), nominal_days=10)
    now = START + timedelta(days=400)
    orders = pd.DataFrame(
        {
            "purchase_order_id": ["a", "b", "c"],
            "issued_at": [now - timedelta(days=1), now - timedelta(days=1), now - timedelta(days=30)],
            "expected_date": [(now + timedelta(days=30)).date(), (now + timedelta(days=1)).date(), date(2020, 1, 1)],
        }
    )
    generous, tight, overdue = predict_open_orders(orders, estimate, now=now)
    assert generous.on_time_probability > 0.99
    assert tight.on_time_probability < 0.01
    assert overdue.already_late and overdue.on_time_probability == 0.0
    assert generous.predicted_arrival["p10"] <= generous.predicted_arrival["p50"] <= generous.predicted_arrival["p90"]
    # An order already 30 days out is predicted to arrive no earlier than today.
    assert overdue.predicted_arrival["p10"] >= now.date()


def test_gamma_cdf_of_a_fixed_lead_time_is_a_step():
    assert lead_time_cdf(5, 0, 4.9) == 0.0 and lead_time_cdf(5, 0, 5) == 1.0


def test_a_receipt_is_on_time_by_the_receiving_warehouses_calendar():
    issued = datetime(2025, 3, 1, 17, tzinfo=UTC)
    orders = pd.DataFrame(
        {
            "issued_at": [issued],
            "expected_date": [date(2025, 3, 10)],
            "first_received_at": [datetime(2025, 3, 11, 2, tzinfo=UTC)],  # 19:00 on the 10th in Los Angeles
        }
    )
    in_los_angeles = estimate_lead_time(orders.assign(timezone="America/Los_Angeles"))
    in_utc = estimate_lead_time(orders.assign(timezone="UTC"))
    assert (in_los_angeles.on_time_orders, in_utc.on_time_orders) == (1, 0)


def test_an_open_order_is_late_only_once_its_due_date_is_over_where_it_is_received():
    estimate = estimate_lead_time(history(np.full(20, 9.0) + np.tile([-2, 2], 10)))
    now = datetime(2025, 3, 11, 3, tzinfo=UTC)  # 20:00 on the 10th in Los Angeles, 12:00 on the 11th in Tokyo
    orders = pd.DataFrame(
        {
            "purchase_order_id": ["west", "east", "long overdue"],
            "issued_at": [datetime(2025, 3, 1, 17, tzinfo=UTC)] * 2 + [datetime(2025, 1, 1, 17, tzinfo=UTC)],
            "expected_date": [date(2025, 3, 10)] * 2 + [date(2025, 1, 10)],
            "timezone": ["America/Los_Angeles", "Asia/Tokyo", "America/Los_Angeles"],
        }
    )
    west, east, overdue = predict_open_orders(orders, estimate, now=now)
    assert not west.already_late and west.on_time_probability is not None and west.on_time_probability > 0
    assert east.already_late and east.on_time_probability == 0.0
    # Expected any moment now: today in Los Angeles, the 10th, not UTC's 11th.
    assert overdue.predicted_arrival["p10"] == date(2025, 3, 10)


def test_a_receipt_earlier_on_the_issue_day_is_a_lead_time_of_zero_days():
    # Receiving takes a receipt timed before the order on its issue day; before, the estimate threw it out, so 12
    # of them read as no receipts, and beside 4 seven-day orders the mean read 7.0.
    same_day = [(datetime(2026, 11, d, 15, tzinfo=UTC), datetime(2026, 11, d, 0, tzinfo=UTC)) for d in range(2, 14)]
    week = [(datetime(2026, 10, 1 + i, 9, tzinfo=UTC), datetime(2026, 10, 8 + i, 9, tzinfo=UTC)) for i in range(4)]
    issued, received = zip(*(same_day + week), strict=True)
    orders = pd.DataFrame({"issued_at": issued, "expected_date": None, "first_received_at": received})
    estimate = estimate_lead_time(orders)
    assert (estimate.receipts, estimate.basis) == (16, "history")
    assert estimate.mean_days == pytest.approx(7 * 4 / 16)


def test_a_receipt_is_dated_before_its_order_on_the_receiving_warehouses_calendar():
    # Issued 17:00 on 1 March in Los Angeles, received 12:00 that day there: 1 March in UTC, a day before the issue.
    orders = pd.DataFrame(
        {
            "issued_at": [datetime(2025, 3, 2, 1, tzinfo=UTC)],
            "expected_date": [None],
            "first_received_at": [datetime(2025, 3, 1, 20, tzinfo=UTC)],
        }
    )
    in_los_angeles = estimate_lead_time(orders.assign(timezone="America/Los_Angeles"))
    in_utc = estimate_lead_time(orders.assign(timezone="UTC"))
    assert (in_los_angeles.receipts, in_los_angeles.mean_days) == (1, 0.0)
    assert in_utc.receipts == 0 and "1 order(s) received on a date before they were issued: ignored" in in_utc.notes


def test_kaplan_meier_takes_an_order_still_out_as_a_lead_time_of_at_least_its_time_out():
    # Receipts after 2, 4 and 6 days and an order out for 3: half of those at risk after 3 days arrive at 4.
    survival = kaplan_meier(np.array([2.0, 4.0, 6.0]), np.array([3.0]))
    assert survival.days.tolist() == [2.0, 3.0, 4.0, 6.0]
    assert survival.probability.tolist() == pytest.approx([0.25, 0.0, 0.375, 0.375])
    assert (survival.still_out, survival.quantile(0.25), survival.quantile(0.5)) == (0.0, 2.0, 4.0)
    assert survival.mean == pytest.approx(0.25 * 2 + 0.375 * 4 + 0.375 * 6)
    # An order out longer than every receipt keeps its share at its time out: the upper part is a lower bound.
    outlasting = kaplan_meier(np.array([2.0, 4.0]), np.array([10.0, 10.0]))
    assert (outlasting.still_out, outlasting.quantile(0.9)) == (0.5, 10.0)


def overdue_supplier(now):
    """10 orders received on time after 5 days, 20 still out 90 days and more past their expected date."""
    received = history([5] * 10, [7] * 10)
    still_out = pd.DataFrame(
        {
            "purchase_order_id": [f"o{i}" for i in range(20)],
            "issued_at": [now - timedelta(days=110 + i) for i in range(20)],
            "expected_date": [(now - timedelta(days=90 + i)).date() for i in range(20)],
            "timezone": "UTC",
        }
    )
    return received, still_out


def test_an_open_order_past_its_expected_date_is_late_in_the_on_time_probability():
    # Before, only received orders counted: 10 of 10 on time read 0.917 beside 20 orders 90 days overdue.
    now = START + timedelta(days=400)
    received, still_out = overdue_supplier(now)
    estimate = estimate_lead_time(received, open_orders=still_out, now=now)
    assert (estimate.on_time_orders, estimate.late_open_orders) == (10, 20)
    assert estimate.on_time_probability == pytest.approx(11 / 32)  # Laplace: (10 + 1) / (30 + 2)
    assert estimate.on_time_interval[1] < 0.5


def test_open_orders_outlasting_the_receipts_lengthen_the_lead_time_as_censored_ones():
    # Before, every quantile read 5 days, the receipts' only lead time, beside 20 orders out for 110 days and more.
    now = START + timedelta(days=400)
    received, still_out = overdue_supplier(now)
    estimate = estimate_lead_time(received, open_orders=still_out, now=now)
    assert (estimate.receipts, estimate.censored_orders, estimate.observed_mean_days) == (10, 20, 5.0)
    assert estimate.quantiles_days["p10"] == 5.0
    assert estimate.quantiles_days["p50"] == estimate.quantiles_days["p90"] == pytest.approx(129.0)  # lower bounds
    assert estimate.mean_days == pytest.approx(5 + (129 - 5) * 2 / 3)
    assert any("lower bounds" in note for note in estimate.notes)


def test_open_orders_issued_after_every_receipt_came_leave_the_lead_time_as_observed():
    now = START + timedelta(days=400)
    received = history([5.0, 7.0] * 5)
    recent = pd.DataFrame({"issued_at": [now - timedelta(days=2)], "expected_date": [None]})
    estimate = estimate_lead_time(received, open_orders=recent, now=now)
    assert (estimate.censored_orders, estimate.mean_days) == (0, 6.0)


def out_for(now, days_out):
    return pd.DataFrame({"issued_at": [now - timedelta(days=d) for d in days_out], "expected_date": None})


@pytest.mark.parametrize(
    ("receipts", "days_out", "nominal"), [([5.0, 6.0, 7.0, 6.0, 5.0], [8.0, 30.0], 7.0), ([5.0], [90.0], 5.0)]
)
def test_few_receipts_beside_orders_out_longer_keep_the_kaplan_meier_quantiles(receipts, days_out, nominal):
    # Before, a gamma with the shrunk mean and the Kaplan-Meier sd put p10 at 0.97 days and p50 at 0.43.
    now = START + timedelta(days=400)
    estimate = estimate_lead_time(history(receipts), open_orders=out_for(now, days_out), now=now, nominal_days=nominal)
    survival = kaplan_meier(np.array(receipts), np.array(days_out))
    assert estimate.quantiles_days == {f"p{round(q * 100)}": survival.quantile(q) for q in (0.1, 0.5, 0.9)}
    assert estimate.quantiles_days["p10"] >= min(receipts)
    # The Kaplan-Meier mean is a lower bound: shrinking towards a shorter nominal does not go below it.
    assert estimate.mean_days == pytest.approx(survival.mean)


def test_a_kaplan_meier_mean_kept_above_the_nominal_is_the_historys_alone():
    # Before, basis "blended with nominal" (the policy's "supplier history blended with the reorder rule's lead
    # time") although a nominal of 5 or of 40 days gave the same figures.
    now = START + timedelta(days=400)
    shorter, longer = (
        estimate_lead_time(history([5.0]), open_orders=out_for(now, [90.0]), now=now, nominal_days=nominal)
        for nominal in (5.0, 40.0)
    )
    assert (shorter.basis, longer.basis) == ("history", "history")
    figures = [(e.mean_days, e.sd_days, e.quantiles_days) for e in (shorter, longer)]
    assert figures[0] == figures[1]


def test_an_order_received_in_part_at_an_unknown_date_is_late_but_no_lead_time_of_its_whole_age():
    # Before, 2 orders an ERP had partly received before the first sync, issued 200 days ago, counted as lead times
    # of at least 200 days beside 10 five-day receipts: mean 37.5, p90 200.
    now = START + timedelta(days=400)
    undated = out_for(now, [200.0, 200.0]).assign(
        expected_date=(now - timedelta(days=190)).date(), received_undated=True
    )
    estimate = estimate_lead_time(history([5.0] * 10), open_orders=undated, now=now)
    assert (estimate.mean_days, estimate.quantiles_days["p90"]) == (5.0, 5.0)
    assert (estimate.censored_orders, estimate.late_open_orders) == (0, 2)


def test_open_orders_out_longer_than_the_nominal_count_when_there_are_no_receipts():
    # Before, 20 orders out 120 days beside no receipts were ignored: the nominal 5 days, p90 6.65, no note.
    now = START + timedelta(days=400)
    estimate = estimate_lead_time(history([]), open_orders=out_for(now, [120.0] * 20), now=now, nominal_days=5)
    assert (estimate.basis, estimate.censored_orders) == ("nominal, raised to open orders", 20)
    assert estimate.mean_days == pytest.approx(120)
    assert min(estimate.quantiles_days.values()) >= 120
    assert any("at least their time out" in note for note in estimate.notes)
