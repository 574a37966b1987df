"""The stock policy's lead time: the request's, then the supplier's history, then the reorder rule's."""

from __future__ import annotations

import pandas as pd
import pytest

from common.errors import InvalidInputError
from training.lead_time_choice import choose_lead_time

ESTIMATE = {"mean_days": 12.0, "sd_days": 3.0, "basis": "history (12 receipts)", "receipts": 12}


def receipts(days: list[float]) -> pd.DataFrame:
    issued = pd.Timestamp("2026-01-01", tz="UTC")
    return pd.DataFrame(
        {"issued_at": [issued] * len(days), "first_received_at": [issued + pd.Timedelta(days=d) for d in days]}
    )


def test_the_requested_lead_time_wins_over_the_supplier_history():
    chosen = choose_lead_time(4.0, None, ESTIMATE, receipts([12.0] * 12), 9.0)
    assert (chosen.mean_days, chosen.sd_days, chosen.source) == (4.0, 0.0, "request")


def test_the_supplier_estimate_passes_its_observed_lead_times_as_samples():
    chosen = choose_lead_time(None, None, ESTIMATE, receipts([10.0, 14.0, -1.0] + [12.0] * 9), 9.0)
    assert (chosen.mean_days, chosen.sd_days) == (12.0, 3.0)
    assert chosen.source == "supplier history (12 receipts)"
    assert chosen.samples_days is not None and sorted(chosen.samples_days)[:2] == [10.0, 12.0]  # negative dropped


def test_few_receipts_give_the_estimate_without_samples():
    chosen = choose_lead_time(None, None, {**ESTIMATE, "receipts": 3}, receipts([12.0] * 3), None)
    assert chosen.samples_days is None


def test_without_supplier_history_the_reorder_rule_serves_with_an_assumed_spread():
    chosen = choose_lead_time(None, None, {**ESTIMATE, "mean_days": None}, None, 8.0)
    assert (chosen.mean_days, chosen.sd_days, chosen.source) == (8.0, 2.0, "reorder rule (sd 25% assumed)")


def test_no_source_at_all_is_a_clear_input_error():
    with pytest.raises(InvalidInputError, match="no reorder rule or purchase order names its supplier"):
        choose_lead_time(None, None, None, None, None)


def test_a_supplier_with_nothing_to_estimate_from_is_told_what_it_lacks_not_to_pass_a_supplier():
    # Before, it said "pass lead_time_days or supplier_id" to a caller who had passed supplier_id.
    nothing = {"mean_days": None, "sd_days": None, "basis": "none", "receipts": 0}
    with pytest.raises(InvalidInputError, match="no receipts yet and no nominal lead time") as refused:
        choose_lead_time(None, None, nothing, receipts([]), None)
    assert "supplier_id" not in str(refused.value)


def test_an_estimate_built_on_the_reorder_rules_lead_time_is_labelled_with_the_rule():
    # Without supplier_id in the request the rule's days are the estimate's prior; before, it read "supplier
    # nominal", which names the supplier's own master-data figure.
    nominal = {"mean_days": 5.0, "sd_days": 1.25, "basis": "nominal", "receipts": 0}
    assert choose_lead_time(None, None, nominal, receipts([]), 5.0).source == (
        "reorder rule (no receipts from the supplier yet)"
    )
    blended = {**nominal, "basis": "blended with nominal", "receipts": 3}
    assert choose_lead_time(None, None, blended, receipts([6.0] * 3), 5.0).source == (
        "supplier history blended with the reorder rule's lead time"
    )
    assert choose_lead_time(None, None, nominal, receipts([]), None).source == "supplier nominal"


def test_a_requested_sd_without_a_requested_mean_spreads_the_suppliers_mean_and_the_source_says_so():
    # Before, the supplier's estimated sd of 3 days was used and nothing said the requested 8 was dropped.
    chosen = choose_lead_time(None, 8.0, ESTIMATE, receipts([12.0] * 12), None)
    assert (chosen.mean_days, chosen.sd_days) == (12.0, 8.0)
    assert chosen.source == "supplier history (12 receipts), sd from request"
    assert chosen.samples_days is None  # the simulation would bootstrap the observed spread, not the one asked for


def test_a_requested_sd_without_a_requested_mean_spreads_the_reorder_rules_mean_instead_of_the_assumed_share():
    chosen = choose_lead_time(None, 8.0, None, None, 9.0)
    assert (chosen.mean_days, chosen.sd_days, chosen.source) == (9.0, 8.0, "reorder rule, sd from request")


def test_a_requested_sd_without_any_lead_time_is_still_refused_as_an_unknown_lead_time():
    with pytest.raises(InvalidInputError, match="no reorder rule or purchase order names its supplier"):
        choose_lead_time(None, 8.0, None, None, None)


def test_a_receipt_earlier_on_the_issue_day_is_sampled_as_zero_days():
    # Before, the simulation's samples left out what the estimate must count: receiving takes such a receipt.
    issued = pd.Timestamp("2026-01-01 15:00", tz="UTC")
    same_day = pd.DataFrame({"issued_at": [issued], "first_received_at": [issued - pd.Timedelta(hours=15)]})
    chosen = choose_lead_time(None, None, ESTIMATE, pd.concat([same_day, receipts([12.0] * 11)]), 9.0)
    assert chosen.samples_days is not None and sorted(chosen.samples_days)[:2] == [0.0, 12.0]


def test_receipts_outlasted_by_open_orders_are_not_resampled():
    # The receipts are the quick part of a spread the censored estimate's gamma stands for.
    chosen = choose_lead_time(None, None, {**ESTIMATE, "censored_orders": 3}, receipts([12.0] * 12), 9.0)
    assert (chosen.mean_days, chosen.samples_days) == (12.0, None)


def test_the_source_names_whose_orders_the_supplier_estimate_read():
    # Before, a warehouse's policy read "supplier history" for lead times pooled over every warehouse.
    pooled = "all the supplier's orders, every warehouse and product"
    chosen = choose_lead_time(None, None, ESTIMATE, receipts([12.0] * 12), None, pooled)
    assert chosen.source == f"supplier history (12 receipts) ({pooled})"


def test_a_supplier_without_any_receipt_is_not_said_to_lack_them_at_this_location_only():
    # Its receipts are read at every warehouse before it is found to have none; before, the message said "for this
    # supplier at this product and warehouse".
    nothing = {"mean_days": None, "sd_days": None, "basis": "none", "receipts": 0}
    with pytest.raises(InvalidInputError, match=r"^no lead time known for this supplier: it has no receipts yet"):
        choose_lead_time(None, None, nothing, receipts([]), None)
