"""Supply prediction: a supplier's lead-time distribution and on-time probability from order history.

Input is one row per purchase order that has been received at least once (``issued_at``,
``expected_date``, ``first_received_at``) and, optionally, the open issued orders to predict. The
lead time of an order is the time from issue to its first receipt, in days (0 for a receipt timed earlier on
the issue day, which receiving takes; one dated before the issue day is left out); it is on time when that
receipt falls on or before the expected date on the receiving warehouse's calendar (an optional ``timezone``
column, IANA; UTC without it): a receipt at 18:00 in Los Angeles on the due date is on time, although it is
the next day in UTC.

With few receipts the estimates degrade gracefully instead of failing:

- the mean lead time is shrunk towards the supplier's nominal lead time with ``prior_weight``
  pseudo-observations (a normal-normal posterior mean); with no receipts it is the nominal one;
- the standard deviation needs two receipts; below that it is ``default_cv`` times the mean;
- the on-time probability is the posterior mean under a Beta(1, 1) prior (Laplace's rule of
  succession) with a 90% credible interval, so 2 of 2 on time reads as 0.75, not certainty.

Probabilities for open orders come from a gamma distribution with the estimated mean and sd (lead
times are positive and right-skewed). Pure pandas/scipy: no database, no Ray.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from scipy import stats

from training.errors import ForecastInputError

LEAD_TIME_QUANTILES = (0.1, 0.5, 0.9)


# The lead-time distribution of one supplier, in days; also the forecast API's ``lead_time`` (a docstring
# here would become that schema's description).
class LeadTimeDistribution(BaseModel):
    model_config = ConfigDict(frozen=True)

    receipts: int
    basis: str  # "history", "blended with nominal", "nominal", or "none"
    mean_days: float | None
    sd_days: float | None
    quantiles_days: dict[str, float]
    observed_mean_days: float | None
    observed_sd_days: float | None
    nominal_days: float | None
    on_time_probability: float | None
    on_time_interval: list[float] | None
    on_time_orders: int
    mean_delay_days: float | None  # mean of (first receipt - expected date) over late orders
    notes: list[str]


@dataclass(frozen=True)
class OpenOrderPrediction:
    purchase_order_id: str
    issued_at: datetime
    expected_date: date | None
    predicted_arrival: dict[str, date]
    on_time_probability: float | None
    already_late: bool


def estimate_lead_time(
    history: pd.DataFrame,
    *,
    nominal_days: float | None = None,
    prior_weight: float = 3.0,
    default_cv: float = 0.25,
    min_history: int = 10,
) -> LeadTimeDistribution:
    """A supplier's lead-time distribution and on-time probability from received purchase orders.

    ``history`` has ``issued_at``, ``expected_date`` (may be null) and ``first_received_at``.
    With at least ``min_history`` receipts the history stands alone; below that, the nominal lead
    time (when known) enters as ``prior_weight`` pseudo-observations.
    """
    missing = {"issued_at", "expected_date", "first_received_at"} - set(history.columns)
    if missing:
        raise ForecastInputError(f"order history is missing column(s) {sorted(missing)}")
    if nominal_days is not None and not (math.isfinite(nominal_days) and nominal_days >= 0):
        raise ForecastInputError(f"nominal lead time must be a non-negative number of days, got {nominal_days}")
    notes: list[str] = []
    rows = history.dropna(subset=["issued_at", "first_received_at"])
    received = pd.to_datetime(rows["first_received_at"], utc=True)
    observed = observed_lead_times(rows)
    valid = observed.notna().to_numpy()
    if not valid.all():
        notes.append(f"{int((~valid).sum())} order(s) received on a date before they were issued: ignored")
    days = observed.to_numpy(dtype=float)[valid]
    n = len(days)
    observed_mean = float(days.mean()) if n else None
    observed_sd = float(days.std(ddof=1)) if n >= 2 else None
    if n >= min_history or (n > 0 and nominal_days is None):
        mean, basis = observed_mean, "history"
    elif n > 0 and nominal_days is not None:
        assert observed_mean is not None
        mean = (n * observed_mean + prior_weight * nominal_days) / (n + prior_weight)
        basis = "blended with nominal"
        notes.append(f"{n} receipt(s): mean shrunk towards the nominal {nominal_days:g} days")
    elif nominal_days is not None:
        mean, basis = float(nominal_days), "nominal"
        notes.append("no receipts yet: the supplier's nominal lead time is used")
    else:
        mean, basis = None, "none"
        notes.append("no receipts and no nominal lead time: nothing to estimate")
    sd: float | None = None
    if mean is not None:
        if observed_sd is not None and n >= min_history:
            sd = observed_sd
        else:
            floor = default_cv * mean
            sd = max(observed_sd or 0.0, floor)
            if observed_sd is None:
                notes.append(f"standard deviation assumed {default_cv:g} x mean (fewer than 2 receipts)")
    quantiles: dict[str, float] = {}
    if mean is not None and sd is not None:
        if n >= min_history:
            quantiles = {f"p{round(q * 100)}": float(np.quantile(days, q)) for q in LEAD_TIME_QUANTILES}
        else:
            quantiles = {f"p{round(q * 100)}": lead_time_quantile(mean, sd, q) for q in LEAD_TIME_QUANTILES}
    on_time, interval, count, delay = _on_time(rows[valid], received[valid])
    if on_time is None:
        notes.append("no receipt with an expected date: on-time probability unknown")
    return LeadTimeDistribution(
        receipts=n,
        basis=basis,
        mean_days=mean,
        sd_days=sd,
        quantiles_days=quantiles,
        observed_mean_days=observed_mean,
        observed_sd_days=observed_sd,
        nominal_days=nominal_days,
        on_time_probability=on_time,
        on_time_interval=interval,
        on_time_orders=count,
        mean_delay_days=delay,
        notes=notes,
    )


def observed_lead_times(orders: pd.DataFrame) -> pd.Series:
    """Days from issue (``issued_at``) to first receipt (``first_received_at``) per order, NaN where either is
    missing or the receipt is dated before the issue date on the receiving warehouse's calendar (``timezone``; UTC
    without). A receipt timed earlier on the issue day, which receiving accepts (one entered at 00:00 for an
    order issued at 15:00), took 0 days."""
    issued = pd.to_datetime(orders["issued_at"], utc=True)
    received = pd.to_datetime(orders["first_received_at"], utc=True)
    days = ((received - issued).dt.total_seconds() / 86_400).astype(float)
    before = (days < 0).to_numpy()
    if before.any():
        zones = orders["timezone"] if "timezone" in orders.columns else pd.Series(None, index=orders.index)
        issue_day = _local_dates(issued[before], zones[before])
        receipt_day = _local_dates(received[before], zones[before])
        days[before] = np.where(receipt_day < issue_day, np.nan, 0.0)
    return days


def lead_time_quantile(mean: float, sd: float, q: float) -> float:
    """Quantile ``q`` of a gamma lead time with this mean and sd (the mean itself when sd is 0)."""
    if mean <= 0 or sd <= 0:
        return float(mean)
    shape = (mean / sd) ** 2
    return float(stats.gamma.ppf(q, shape, scale=mean / shape))


def lead_time_cdf(mean: float, sd: float, days: float) -> float:
    """P(lead time <= ``days``) under the gamma with this mean and sd."""
    if mean <= 0 or sd <= 0:
        return 1.0 if days >= mean else 0.0
    shape = (mean / sd) ** 2
    return float(stats.gamma.cdf(days, shape, scale=mean / shape))


def predict_open_orders(
    open_orders: pd.DataFrame, estimate: LeadTimeDistribution, *, now: datetime
) -> list[OpenOrderPrediction]:
    """Arrival dates (p10/p50/p90) and on-time probability of orders issued and not yet received.

    The probability is conditional on the order not having arrived by ``now``:
    ``P(L <= due | L > elapsed)``.
    """
    if estimate.mean_days is None or estimate.sd_days is None:
        return []
    mean, sd = estimate.mean_days, estimate.sd_days
    out = []
    for row in open_orders.itertuples(index=False):
        zone = _zone(getattr(row, "timezone", None))
        issued = pd.Timestamp(row.issued_at).to_pydatetime()
        elapsed = max((now - issued).total_seconds() / 86_400, 0.0)
        survive = 1.0 - lead_time_cdf(mean, sd, elapsed)
        arrival = {}
        for q in LEAD_TIME_QUANTILES:
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
            if late:
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


def _on_time(
    rows: pd.DataFrame, received: pd.Series
) -> tuple[float | None, tuple[float, float] | None, int, float | None]:
    # An expected date past what pandas keeps (an ERP's 9999-12-31 for "none") is no due date.
    due = pd.to_datetime(rows["expected_date"], errors="coerce")
    with_due = due.notna().to_numpy()
    if not with_due.any():
        return None, None, 0, None
    expected = due[with_due].dt.date.to_numpy()
    zones = rows["timezone"] if "timezone" in rows.columns else pd.Series("UTC", index=rows.index)
    arrived = np.array(
        [moment.astimezone(_zone(z)).date() for moment, z in zip(received[with_due], zones[with_due], strict=True)]
    )
    on_time = arrived <= expected
    k, n = int(on_time.sum()), len(on_time)
    posterior = stats.beta(1 + k, 1 + n - k)
    delays = [(a - e).days for a, e, ok in zip(arrived, expected, on_time, strict=True) if not ok]
    return (
        float(posterior.mean()),
        (float(posterior.ppf(0.05)), float(posterior.ppf(0.95))),
        k,
        float(np.mean(delays)) if delays else None,
    )


def _local_dates(moments: pd.Series, zones: pd.Series) -> np.ndarray:
    return np.array([m.astimezone(_zone(z)).date() for m, z in zip(moments, zones, strict=True)])


def _zone(name: str | None) -> tzinfo:
    """The receiving warehouse's time zone (UTC when the input carries none)."""
    return ZoneInfo(name) if isinstance(name, str) and name else UTC
