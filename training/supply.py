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
  pseudo-observations (a normal-normal posterior mean), but not below the Kaplan-Meier mean (below); with no
  receipts it is the nominal one, raised to the open orders' median time out while some are out longer;
- the standard deviation needs two receipts; below that it is ``default_cv`` times the mean;
- the on-time probability is the posterior mean under a Beta(1, 1) prior (Laplace's rule of
  succession) with a 90% credible interval, so 2 of 2 on time reads as 0.75, not certainty; an open order
  past its expected date is late in it;
- an open order out longer than a receipt took is a lead time of at least its time out: the lead time is then
  a Kaplan-Meier estimate, with the share still out placed at the longest time out (a lower bound, noted); its
  quantiles are reported whatever the receipt count, so none falls below the shortest receipt.

Lead times are gamma-distributed with the estimated mean and sd (positive and right-skewed); the open orders'
predicted arrivals are ``training.supply_arrivals``. Pure pandas/scipy: no database, no Ray.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from scipy import stats

from training.errors import ForecastInputError
from training.kaplan_meier import kaplan_meier

LEAD_TIME_QUANTILES = (0.1, 0.5, 0.9)


# The lead-time distribution of one supplier, in days; also the forecast API's ``lead_time`` (a docstring
# here would become that schema's description).
class LeadTimeDistribution(BaseModel):
    model_config = ConfigDict(frozen=True)

    receipts: int
    basis: str  # "history", "blended with nominal", "nominal", "nominal, raised to open orders", or "none"
    mean_days: float | None
    sd_days: float | None
    quantiles_days: dict[str, float]
    observed_mean_days: float | None
    observed_sd_days: float | None
    nominal_days: float | None
    on_time_probability: float | None
    on_time_interval: list[float] | None
    on_time_orders: int
    mean_delay_days: float | None  # mean of (first receipt - expected date) over late received orders
    notes: list[str]
    # Open orders out longer than the shortest receipt took (with no receipts: than the nominal lead time):
    # right-censored lead times (Kaplan-Meier), so the received ones alone (which these outlast) are no sample of
    # the supplier's lead times.
    censored_orders: int = 0
    late_open_orders: int = 0  # open orders past their expected date: late in the on-time probability


def estimate_lead_time(
    history: pd.DataFrame,
    *,
    open_orders: pd.DataFrame | None = None,
    now: datetime | None = None,
    nominal_days: float | None = None,
    prior_weight: float = 3.0,
    default_cv: float = 0.25,
    min_history: int = 10,
) -> LeadTimeDistribution:
    """A supplier's lead-time distribution and on-time probability from received purchase orders.

    ``history`` has ``issued_at``, ``expected_date`` (may be null) and ``first_received_at``.
    With at least ``min_history`` receipts the history stands alone; below that, the nominal lead
    time (when known) enters as ``prior_weight`` pseudo-observations. ``open_orders`` (``issued_at``,
    ``expected_date``, ``timezone``, optional ``received_undated``), not received by ``now``: one past its expected
    date is late, and one out longer than a receipt took is a lead time of at least its time out (Kaplan-Meier),
    unless ``received_undated`` says it was partly received at an unknown date.
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
    moment = now or datetime.now(UTC)
    still_open = open_orders if open_orders is not None else pd.DataFrame(columns=["issued_at", "expected_date"])
    # An order partly received at an unknown date (``received_undated``: an ERP's, before any sync saw it) may have
    # come long ago: its time out is no lower bound on its lead time. Its backorder past due is still late.
    undated = still_open.get("received_undated", pd.Series(False, index=still_open.index)).eq(True).to_numpy()
    out_days = _time_out(still_open[~undated], moment)
    # An order out longer than the shortest receipt took is a lead time known only to be at least its time out;
    # with no receipts, one out longer than the nominal lead time is the only sign of the supplier's.
    censor_after = days.min() if n else nominal_days
    censored = out_days[out_days > censor_after] if censor_after is not None else out_days[:0]
    history_mean, history_sd, history_quantiles = observed_mean, observed_sd, None
    if n and len(censored):
        survival = kaplan_meier(days, censored)
        history_mean, history_sd = survival.mean, survival.sd
        history_quantiles = {f"p{round(q * 100)}": survival.quantile(q) for q in LEAD_TIME_QUANTILES}
        notes.append(
            f"{len(censored)} open order(s) out longer than the shortest receipt count as lead times of at least "
            "their time out (Kaplan-Meier)"
        )
        if survival.still_out > 0:
            notes.append(
                f"{survival.still_out:.0%} of orders are still out after {survival.days[-1]:.1f} days, longer than "
                f"any receipt took: the Kaplan-Meier mean ({survival.mean:.1f} days), sd and quantiles above "
                f"{1 - survival.still_out:.0%} are lower bounds"
            )
    if n >= min_history or (n > 0 and nominal_days is None):
        mean, basis = history_mean, "history"
    elif n > 0 and nominal_days is not None:
        assert history_mean is not None
        mean = (n * history_mean + prior_weight * nominal_days) / (n + prior_weight)
        basis = "blended with nominal"
        if history_quantiles is not None and mean < history_mean:
            # The Kaplan-Meier mean is a lower bound: shrinking below it would undo the orders still out. Mean, sd
            # and quantiles are then all the history's, so the nominal played no part.
            mean, basis = history_mean, "history"
            notes.append(f"{n} receipt(s): the Kaplan-Meier mean is kept, above the nominal {nominal_days:g} days")
        else:
            above = f", above the Kaplan-Meier mean {history_mean:.1f}" if history_quantiles is not None else ""
            notes.append(f"{n} receipt(s): mean shrunk towards the nominal {nominal_days:g} days{above}")
    elif nominal_days is not None and len(censored):
        mean, basis = max(float(nominal_days), float(np.median(out_days))), "nominal, raised to open orders"
        notes.append(
            f"no receipts yet: {len(censored)} open order(s) out longer than the nominal {nominal_days:g} days count "
            f"as lead times of at least their time out: the mean is at least the open orders' median time out and "
            "each quantile at least theirs (lower bounds)"
        )
    elif nominal_days is not None:
        mean, basis = float(nominal_days), "nominal"
        notes.append("no receipts yet: the supplier's nominal lead time is used")
    else:
        mean, basis = None, "none"
        notes.append("no receipts and no nominal lead time: nothing to estimate")
    sd: float | None = None
    if mean is not None:
        if history_sd is not None and n >= min_history:
            sd = history_sd
        else:
            floor = default_cv * mean
            sd = max(history_sd or 0.0, floor)
            if history_sd is None:
                notes.append(f"standard deviation assumed {default_cv:g} x mean (fewer than 2 receipts)")
    quantiles: dict[str, float] = {}
    if mean is not None and sd is not None:
        # Censored, the Kaplan-Meier quantiles stand whatever the receipt count: a gamma with its sd puts the low
        # ones below every receipt (5-7 day receipts beside an order out 30 days read p10 0.97 days).
        if history_quantiles is not None:
            quantiles = history_quantiles
        elif n >= min_history:
            quantiles = {f"p{round(q * 100)}": float(np.quantile(days, q)) for q in LEAD_TIME_QUANTILES}
        else:
            quantiles = {f"p{round(q * 100)}": lead_time_quantile(mean, sd, q) for q in LEAD_TIME_QUANTILES}
            if n == 0 and len(censored):
                quantiles = {
                    k: max(v, float(np.quantile(out_days, q)))
                    for (k, v), q in zip(quantiles.items(), LEAD_TIME_QUANTILES, strict=True)
                }
    late_open = _past_due(still_open, moment)
    on_time, interval, count, delay = _on_time(rows[valid], received[valid], late_open)
    if on_time is None:
        notes.append("no receipt with an expected date: on-time probability unknown")
    if late_open:
        notes.append(f"{late_open} open order(s) past their expected date count as late (not in the mean delay)")
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
        censored_orders=len(censored),
        late_open_orders=late_open,
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


def _time_out(open_orders: pd.DataFrame, now: datetime) -> np.ndarray:
    """Days each open order has been out by ``now``."""
    issued = pd.to_datetime(open_orders["issued_at"], utc=True)
    return np.maximum(((now - issued).dt.total_seconds() / 86_400).to_numpy(dtype=float), 0.0)


def _past_due(open_orders: pd.DataFrame, now: datetime) -> int:
    """Open orders whose expected date is over on the receiving warehouse's calendar (as ``predict_open_orders``)."""
    due = pd.to_datetime(open_orders["expected_date"], errors="coerce")
    zones = open_orders["timezone"] if "timezone" in open_orders.columns else pd.Series(None, index=open_orders.index)
    return sum(
        now.astimezone(warehouse_zone(z)).date() > d.date() for d, z in zip(due, zones, strict=True) if pd.notna(d)
    )


def _on_time(
    rows: pd.DataFrame, received: pd.Series, late_open: int
) -> tuple[float | None, tuple[float, float] | None, int, float | None]:
    # An expected date past what pandas keeps (an ERP's 9999-12-31 for "none") is no due date.
    due = pd.to_datetime(rows["expected_date"], errors="coerce")
    with_due = due.notna().to_numpy()
    if not with_due.any() and not late_open:
        return None, None, 0, None
    expected = due[with_due].dt.date.to_numpy()
    zones = rows["timezone"] if "timezone" in rows.columns else pd.Series("UTC", index=rows.index)
    arrived = np.array(
        [
            moment.astimezone(warehouse_zone(z)).date()
            for moment, z in zip(received[with_due], zones[with_due], strict=True)
        ]
    )
    on_time = arrived <= expected
    k, n = int(on_time.sum()), len(on_time) + late_open
    posterior = stats.beta(1 + k, 1 + n - k)
    delays = [(a - e).days for a, e, ok in zip(arrived, expected, on_time, strict=True) if not ok]
    return (
        float(posterior.mean()),
        (float(posterior.ppf(0.05)), float(posterior.ppf(0.95))),
        k,
        float(np.mean(delays)) if delays else None,
    )


def _local_dates(moments: pd.Series, zones: pd.Series) -> np.ndarray:
    return np.array([m.astimezone(warehouse_zone(z)).date() for m, z in zip(moments, zones, strict=True)])


def warehouse_zone(name: str | None) -> tzinfo:
    """The receiving warehouse's time zone (UTC when the input carries none)."""
    return ZoneInfo(name) if isinstance(name, str) and name else UTC
