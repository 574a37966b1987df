"""Predicted arrivals of open orders from a supplier's lead-time estimate."""

from datetime import UTC, datetime, timedelta

import pandas as pd

from training.supply import estimate_lead_time
from training.supply_arrivals import predict_open_orders

START = datetime(2025, 1, 1, 9, tzinfo=UTC)
NOW = START + timedelta(days=400)


def five_day_receipts(count: int) -> pd.DataFrame:
    issued = [START + timedelta(days=7 * i) for i in range(count)]
    return pd.DataFrame(
        {
            "issued_at": issued,
            "expected_date": [(i + timedelta(days=6)).date() for i in issued],
            "first_received_at": [i + timedelta(days=5) for i in issued],
        }
    )


def test_an_order_received_in_part_at_an_unknown_date_gets_no_predicted_arrival():
    # Before, an order an ERP had partly received before any sync saw it was predicted as if nothing had come: its
    # first receipt (what the lead time measures) "due today", 200 days after issue, and one not yet due certain to
    # be on time. Its first receipt has happened, when is not known; it stays late once past due.
    orders = pd.DataFrame(
        {
            "purchase_order_id": ["overdue", "not yet due"],
            "issued_at": [NOW - timedelta(days=200), NOW - timedelta(days=3)],
            "expected_date": [(NOW - timedelta(days=190)).date(), (NOW + timedelta(days=3)).date()],
            "timezone": ["UTC", "UTC"],
            "received_undated": [True, True],
        }
    )
    estimate = estimate_lead_time(five_day_receipts(10), open_orders=orders, now=NOW)
    overdue, not_yet_due = predict_open_orders(orders, estimate, now=NOW)
    assert (overdue.predicted_arrival, overdue.on_time_probability, overdue.already_late) == ({}, None, True)
    assert (not_yet_due.predicted_arrival, not_yet_due.on_time_probability, not_yet_due.already_late) == (
        {},
        None,
        False,
    )


def test_an_order_with_nothing_received_beside_it_still_gets_its_predicted_arrival():
    orders = pd.DataFrame(
        {
            "purchase_order_id": ["undated", "waiting"],
            "issued_at": [NOW - timedelta(days=200), NOW - timedelta(days=2)],
            "expected_date": [(NOW - timedelta(days=190)).date(), (NOW + timedelta(days=4)).date()],
            "received_undated": [True, False],
        }
    )
    estimate = estimate_lead_time(five_day_receipts(10), open_orders=orders, now=NOW)
    _, waiting = predict_open_orders(orders, estimate, now=NOW)
    assert waiting.predicted_arrival["p50"] == (NOW - timedelta(days=2) + timedelta(days=5)).date()
    assert waiting.on_time_probability == 1.0
