"""Predicted arrivals of a supplier's open orders: when each is expected (p10/p50/p90) and the probability it
arrives by its expected date, from the lead-time estimate of ``training.supply`` (a gamma with its mean and sd),
conditional on the order not having arrived yet. Pure pandas/scipy: no database, no Ray.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd

from training.supply import (
    LEAD_TIME_QUANTILES,
    LeadTimeDistribution,
    lead_time_cdf,
    lead_time_quantile,
    warehouse_zone,
)


@dataclass(frozen=True)
class OpenOrderPrediction:
    purchase_order_id: str
    issued_at: datetime
    expected_date: date | None
    predicted_arrival: dict[str, date]
    on_time_probability: float | None
    already_late: bool


def predict_open_orders(
    open_orders: pd.DataFrame, estimate: LeadTimeDistribution, *, now: datetime
) -> list[OpenOrderPrediction]:
    """Arrival dates (p10/p50/p90) and on-time probability of orders issued and not yet received.

    The probability is conditional on the order not having arrived by ``now``:
    ``P(L <= due | L > elapsed)``. An order with ``received_undated`` (partly received at an unknown date: an ERP's,
    before any sync saw it) has had the first receipt the lead time measures, so it gets neither (an empty
    ``predicted_arrival``), as an order partly received at a known date is no open order here; it is still late
    once its expected date is over, as the estimate counts it.
    """
    if estimate.mean_days is None or estimate.sd_days is None:
        return []
    mean, sd = estimate.mean_days, estimate.sd_days
    out = []
    for row in open_orders.itertuples(index=False):
        zone = warehouse_zone(getattr(row, "timezone", None))
        issued = pd.Timestamp(row.issued_at).to_pydatetime()
        elapsed = max((now - issued).total_seconds() / 86_400, 0.0)
        survive = 1.0 - lead_time_cdf(mean, sd, elapsed)
        # Its time out is no time waiting for a first receipt: one came, maybe long ago. What is still to come is a
        # backorder, whose arrival the issue-to-first-receipt lead time does not model.
        flag = getattr(row, "received_undated", False)
        undated = bool(pd.notna(flag) and flag)
        arrival = {}
        for q in () if undated else LEAD_TIME_QUANTILES:
            # Quantiles of the lead time given it exceeds the elapsed time.
            level = 1.0 - survive * (1.0 - q)
            days = lead_time_quantile(mean, sd, min(level, 0.999999)) if survive > 1e-9 else elapsed
            arrival[f"p{round(q * 100)}"] = (issued + timedelta(days=max(days, elapsed))).astimezone(zone).date()
        expected = row.expected_date if pd.notna(row.expected_date) else None
        probability = None
        late = False
        if expected is not None:
            due = (datetime.combine(expected, datetime.max.time(), tzinfo=zone) - issued).total_seconds()
            due_days = due / 86_400
            late = now.astimezone(zone).date() > expected
            if undated:
                probability = None
            elif late:
                probability = 0.0
            elif survive <= 1e-9:
                probability = 1.0
            else:
                within = lead_time_cdf(mean, sd, due_days) - lead_time_cdf(mean, sd, elapsed)
                probability = float(min(max(within / survive, 0.0), 1.0))
        out.append(
            OpenOrderPrediction(
                purchase_order_id=str(row.purchase_order_id),
                issued_at=issued,
                expected_date=expected,
                predicted_arrival=arrival,
                on_time_probability=probability,
                already_late=late,
            )
        )
    return out
