"""Disruption features for purchase-order lines, computed point in time from delivery history.

One data convention: a delivery frame has one row per purchase-order line with the columns in
``DELIVERY_COLUMNS`` (dates as ``datetime64``; ``delivered_date`` is NaT while the line is open). A target row
is described by the same columns plus ``as_of``: supplier statistics use only deliveries completed strictly
before ``as_of`` (a training row's order date, or today when scoring an open order), so training never
sees the future and the features of an open order are what is known now.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DELIVERY_COLUMNS = [
    "supplier_id",
    "order_date",
    "promised_date",
    "delivered_date",
    "quantity",
    "value",
    "shipment_mode",
    "country_risk",
    "distance_km",
]
SHIPMENT_MODES = ("road", "rail", "sea", "air")

# Shrinkage towards the population rates: a supplier with few deliveries is described mostly by the
# population, one with hundreds by itself (empirical Bayes with a pseudo-count).
PRIOR_STRENGTH = 10.0

FEATURES = [
    "supplier_late_rate",
    "supplier_mean_delay",
    "supplier_lead_cv",
    "supplier_history_log",
    "lead_time_days",
    "lead_time_tightness",
    "order_value_log",
    "order_size_ratio",
    "country_risk",
    "distance_km",
    "month_sin",
    "month_cos",
    *[f"mode_{m}" for m in SHIPMENT_MODES],
]

FEATURE_LABELS = {
    "supplier_late_rate": "supplier's late-delivery rate so far",
    "supplier_mean_delay": "supplier's mean delay (days) so far",
    "supplier_lead_cv": "variability of the supplier's lead times",
    "supplier_history_log": "amount of delivery history (log of deliveries)",
    "lead_time_days": "promised lead time (days)",
    "lead_time_tightness": "promised lead time against the supplier's usual",
    "order_value_log": "order line value (log)",
    "order_size_ratio": "order value against the supplier's median",
    "country_risk": "origin country risk index",
    "distance_km": "distance from supplier (km)",
    "month_sin": "season (month of the promised date)",
    "month_cos": "season (month of the promised date)",
    **{f"mode_{m}": f"shipped by {m}" for m in SHIPMENT_MODES},
}


def delivery_outcomes(frame: pd.DataFrame) -> pd.DataFrame:
    """Lateness and delay (days) of completed lines; open lines get NaN."""
    delivered = frame["delivered_date"]
    delay = (delivered - frame["promised_date"]).dt.days.astype(float)
    lead = (delivered - frame["order_date"]).dt.days.astype(float)
    return pd.DataFrame(
        {"late": (delay > 0).astype(float).where(delivered.notna()), "delay": delay.clip(lower=0), "lead": lead},
        index=frame.index,
    )


def build_features(history: pd.DataFrame, targets: pd.DataFrame | None = None) -> pd.DataFrame:
    """Feature matrix (columns ``FEATURES``) for ``targets`` (default: every history row as of its order date)."""
    if targets is None:
        targets = history.assign(as_of=history["order_date"])
    outcomes = delivery_outcomes(history)
    done = history[history["delivered_date"].notna()].assign(
        late=outcomes["late"], delay=outcomes["delay"], lead=outcomes["lead"]
    )
    population_late = float(done["late"].mean()) if len(done) else 0.2
    population_delay = float(done["delay"].mean()) if len(done) else 1.0
    population_lead = float(done["lead"].median()) if len(done) else 14.0
    population_cv = float(_cv(done["lead"])) if len(done) > 1 else 0.3

    n = np.zeros(len(targets))
    late_sum = np.zeros(len(targets))
    delay_sum = np.zeros(len(targets))
    lead_sum = np.zeros(len(targets))
    lead_sq = np.zeros(len(targets))
    positions = {key: i for i, key in enumerate(targets.index)}
    as_of = targets["as_of"].to_numpy(dtype="datetime64[ns]")
    for supplier, rows in targets.groupby("supplier_id", sort=False).groups.items():
        past = done[done["supplier_id"] == supplier].sort_values("delivered_date")
        if past.empty:
            continue
        at = np.array([positions[k] for k in rows])
        cut = np.searchsorted(past["delivered_date"].to_numpy(dtype="datetime64[ns]"), as_of[at], side="left")
        for source, target in (
            (np.ones(len(past)), n),
            (past["late"].to_numpy(), late_sum),
            (past["delay"].to_numpy(), delay_sum),
            (past["lead"].to_numpy(), lead_sum),
            (past["lead"].to_numpy() ** 2, lead_sq),
        ):
            cumulative = np.concatenate([[0.0], np.cumsum(source)])
            target[at] = cumulative[cut]

    k = PRIOR_STRENGTH
    late_rate = (late_sum + k * population_late) / (n + k)
    mean_delay = (delay_sum + k * population_delay) / (n + k)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_lead = np.where(n > 0, lead_sum / np.maximum(n, 1), np.nan)
        variance = np.where(n > 1, (lead_sq - n * mean_lead**2) / np.maximum(n - 1, 1), np.nan)
        cv = np.sqrt(np.clip(variance, 0, None)) / np.maximum(mean_lead, 1.0)
    lead_cv = np.where(n > 1, (n * np.nan_to_num(cv) + k * population_cv) / (n + k), population_cv)
    usual_lead = np.where(n > 0, (lead_sum + k * population_lead) / (n + k), population_lead)

    promised_lead = (targets["promised_date"] - targets["order_date"]).dt.days.to_numpy(dtype=float)
    value = targets["value"].astype(float).to_numpy()
    supplier_median = history.groupby("supplier_id")["value"].median()
    median_value = targets["supplier_id"].map(supplier_median).astype(float).to_numpy()
    month = targets["promised_date"].dt.month.to_numpy(dtype=float)
    modes = targets["shipment_mode"].fillna("road").to_numpy()

    features = pd.DataFrame(
        {
            "supplier_late_rate": late_rate,
            "supplier_mean_delay": mean_delay,
            "supplier_lead_cv": lead_cv,
            "supplier_history_log": np.log1p(n),
            "lead_time_days": promised_lead,
            "lead_time_tightness": promised_lead / np.maximum(usual_lead, 1.0),
            "order_value_log": np.log1p(np.nan_to_num(value, nan=0.0)),
            "order_size_ratio": value / np.where(np.nan_to_num(median_value) > 0, median_value, np.nan),
            "country_risk": targets["country_risk"].astype(float).to_numpy(),
            "distance_km": targets["distance_km"].astype(float).to_numpy(),
            "month_sin": np.sin(2 * np.pi * month / 12),
            "month_cos": np.cos(2 * np.pi * month / 12),
            **{f"mode_{m}": (modes == m).astype(float) for m in SHIPMENT_MODES},
        },
        index=targets.index,
    )
    return features[FEATURES]


def _cv(values: pd.Series) -> float:
    mean = float(values.mean())
    return float(values.std(ddof=1)) / max(mean, 1.0)
