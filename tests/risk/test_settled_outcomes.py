"""A line teaches the disruption model only once its outcome was settled (its promised date passed) on the day
the model is trained, in the backtest and in each validation window alike: no outcome from after that day."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from common.errors import InvalidInputError
from risk.backtest import backtest
from risk.pipeline import (
    DECISION_SHARE,
    DECISION_WINDOWS,
    chronological,
    fit_in_process,
    labelled_rows,
    train_disruption_model,
)
from tests.support.deliveries import road_history

DAY = pd.Timestamp("2025-01-01")
LINE = {"supplier_id": "S", "category": "A", "shipment_mode": "air", "quantity": 1.0, "value": 1.0,
        "country_risk": np.nan, "distance_km": np.nan}  # fmt: skip


def line(promised: int, delivered: int | None) -> dict[str, object]:
    """A line ordered on DAY, promised and delivered that many days later (None: not delivered)."""
    d = pd.Timedelta(days=1)
    return {**LINE, "order_date": DAY, "promised_date": DAY + promised * d,
            "delivered_date": pd.NaT if delivered is None else DAY + delivered * d}  # fmt: skip


def test_a_line_still_inside_its_promise_is_left_out_even_when_delivered_early():
    history = pd.DataFrame([line(10, 10), line(40, 15)])
    rows = labelled_rows(history, as_of=DAY + pd.Timedelta(days=20))
    assert list(rows.promised_date) == [DAY + pd.Timedelta(days=10)]


def test_a_line_past_its_promise_and_not_delivered_by_then_is_labelled_late():
    history = pd.DataFrame([line(10, None), line(12, 30)])  # open; delivered after the training day
    rows = labelled_rows(history, as_of=DAY + pd.Timedelta(days=20))
    assert list(rows.late) == [1.0, 1.0]


def test_the_backtest_trains_only_on_lines_settled_before_the_cutoff():
    history = road_history(seed=4, lines=1500, suppliers=10, late=lambda draw, s: draw < 0.1 + 0.03 * s)
    cutoff = date(2025, 3, 1)
    settled = int((history["promised_date"] < pd.Timestamp(cutoff)).sum())
    ordered = int((history["order_date"] < pd.Timestamp(cutoff)).sum())
    result = backtest(history, cutoff)
    assert result["training_rows"] == settled < ordered


def test_each_validation_window_s_booster_learns_only_outcomes_settled_when_the_window_opens():
    history = road_history(seed=5, lines=1500, suppliers=10, late=lambda draw, s: draw < 0.1 + 0.03 * s)
    fitted: list[int] = []

    def counting_fitter(sets):  # the in-process fit, counting each booster's lines
        fitted.extend(len(labels) for _, labels in sets)
        return fit_in_process(sets)

    train_disruption_model(history, fitter=counting_fitter)
    rows = labelled_rows(history)
    n = len(rows.late)
    opens = np.linspace(int(n * (1 - DECISION_SHARE)), n, DECISION_WINDOWS + 1).astype(int)[:-1]
    known_then = [int((rows.promised_date < rows.order_date[lo]).sum()) for lo in opens]
    assert fitted[:DECISION_WINDOWS] == known_then
    assert all(k < lo for k, lo in zip(known_then, opens, strict=True))  # the lines still in their promise


def test_lines_ordered_the_same_day_keep_one_order_whatever_ids_an_import_drew_for_their_suppliers():
    day = pd.Timestamp("2024-03-01")
    lines = pd.DataFrame({
        "supplier_code": ["B", "A"], "order_date": day, "promised_date": day + pd.Timedelta(days=20),
        "delivered_date": day + pd.Timedelta(days=20), "quantity": 10.0, "value": 100.0,
    })  # fmt: skip
    first = chronological(lines.assign(supplier_id=["id-1", "id-2"]))
    second = chronological(lines.assign(supplier_id=["id-2", "id-1"]))
    assert list(first["supplier_code"]) == list(second["supplier_code"]) == ["A", "B"]


def test_history_that_leaves_no_decision_window_anything_to_learn_from_is_refused_and_the_baseline_serves():
    # 120 lines all ordered on one day: every window opens before any promise has passed, so no booster can be
    # judged. Before, the metrics of no window at all failed the training with sklearn's "0 samples" error.
    lines = [line(promised=10, delivered=12 if i % 3 == 0 else 8) for i in range(120)]
    history = pd.DataFrame(lines).assign(supplier_code="S")
    with pytest.raises(InvalidInputError, match="no decision window has") as refused:
        train_disruption_model(history, as_of=DAY + pd.Timedelta(days=30))
    assert refused.value.code == "insufficient_history"
