"""Disruption features for purchase-order lines, computed point in time from delivery history.

One data convention: a delivery frame has one row per purchase-order line with the columns in
``DELIVERY_COLUMNS`` (dates as ``datetime64``; ``delivered_date`` is NaT while the line is open; ``category``
and ``shipment_mode`` may be blank). A target row is described by the same columns plus ``as_of``: its
features use only what was known strictly before ``as_of`` (a training row's order date, or today when
scoring an open order), so training never sees the future.

A past line's outcome becomes known on the day it is delivered on time, or on the day after its promised
date when it was not delivered by then (it is late from that day, delivered or not). The features are rates
and counts that carry over between companies: late rates of the supplier, the supplier on this shipment
mode, the category and the mode, each shrunk towards the level above it (empirical Bayes with pseudo-counts)
and each also time-decayed, so that a supplier without history is described by its category and mode.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DELIVERY_COLUMNS = [
    "supplier_id",
    "category",
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

PRIOR_STRENGTH = 10.0  # pseudo-deliveries of the prior in a supplier's all-time rate (the baseline)
RECENT_STRENGTH = 5.0  # pseudo-deliveries of the prior in the time-decayed rates
HALF_LIFE_DAYS = 180.0  # weight of a past outcome halves every this many days in the recent rates
# The fast rates follow a drifting base rate within weeks: the booster's starting point (``risk.model``).
FAST_HALF_LIFE_DAYS = 30.0
DEFAULT_LATE_RATE = 0.1  # the prior of everything before any outcome is known
_DAY = np.timedelta64(1, "D")

FEATURES = [
    "supplier_late_rate",
    "supplier_recent_late_rate",
    "supplier_mode_recent_late_rate",
    "category_recent_late_rate",
    "mode_recent_late_rate",
    "overall_recent_late_rate",
    "supplier_mode_fast_late_rate",
    "overall_fast_late_rate",
    "supplier_trend",
    "supplier_history_log",
    "supplier_overdue_open_log",
    "years_since_last_late",
    "supplier_mean_delay",
    "lead_time_days",
    "lead_time_ratio",
    "quantity_log",
    "order_value_log",
    "unit_price_log",
    "country_risk",
    "distance_km",
    "month_sin",
    "month_cos",
    *[f"mode_{m}" for m in SHIPMENT_MODES],
]

RATE_FEATURES = frozenset(f for f in FEATURES if f.endswith("late_rate"))

FEATURE_LABELS = {
    "supplier_late_rate": "supplier's late-delivery rate so far",
    "supplier_recent_late_rate": "supplier's recent late-delivery rate",
    "supplier_mode_recent_late_rate": "supplier's recent late rate on this shipment mode",
    "category_recent_late_rate": "recent late rate of the product category",
    "mode_recent_late_rate": "recent late rate of the shipment mode",
    "overall_recent_late_rate": "recent late rate of all suppliers",
    "supplier_mode_fast_late_rate": "supplier's late rate on this shipment mode in the last weeks",
    "overall_fast_late_rate": "late rate of all suppliers in the last weeks",
    "supplier_trend": "supplier's recent late rate against its long-run rate",
    "supplier_history_log": "amount of delivery history (log of deliveries)",
    "supplier_overdue_open_log": "supplier's lines past their promised date and still open (log)",
    "years_since_last_late": "years since the supplier's last late delivery",
    "supplier_mean_delay": "supplier's mean delay (days) so far",
    "lead_time_days": "promised lead time (days)",
    "lead_time_ratio": "promised lead time against the supplier's usual",
    "quantity_log": "order line quantity (log)",
    "order_value_log": "order line value (log)",
    "unit_price_log": "unit price (log)",
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


def _days(values: pd.Series | np.ndarray) -> np.ndarray:
    """Dates as float days since the epoch (NaT as NaN)."""
    stamps = np.asarray(values, dtype="datetime64[ns]")
    days = (stamps - np.datetime64("1970-01-01", "ns")) / _DAY
    return np.where(np.isnat(stamps), np.nan, days)


def _past_sums(
    event_key: np.ndarray,
    event_time: np.ndarray,
    values: dict[str, np.ndarray],
    target_key: np.ndarray,
    target_time: np.ndarray,
) -> dict[str, np.ndarray]:
    """For each target, the sums of ``values`` over the events of its key that happened strictly before it."""
    sums = {name: np.zeros(len(target_key)) for name in values}
    keep = np.isfinite(event_time)
    events = pd.DataFrame({"key": event_key[keep], "t": event_time[keep]})
    targets = pd.Series(np.arange(len(target_key))).groupby(pd.Series(target_key)).indices
    for key, index in events.groupby("key", sort=False).indices.items():
        at = targets.get(key)
        if at is None:
            continue
        order = index[np.argsort(events["t"].to_numpy()[index], kind="stable")]
        cut = np.searchsorted(events["t"].to_numpy()[order], target_time[at], side="left")
        kept = np.flatnonzero(keep)[order]
        for name, source in values.items():
            sums[name][at] = np.concatenate([[0.0], np.cumsum(source[kept])])[cut]
    return sums


def _shrunk(late: np.ndarray, n: np.ndarray, prior: np.ndarray | float, strength: float) -> np.ndarray:
    return (late + strength * prior) / (n + strength)


def build_features(history: pd.DataFrame, targets: pd.DataFrame | None = None) -> pd.DataFrame:
    """Feature matrix (columns ``FEATURES``) for ``targets`` (default: every history row as of its order date)."""
    if targets is None:
        targets = history.assign(as_of=history["order_date"])
    as_of = _days(targets["as_of"])
    origin = float(np.nanmin(as_of)) if len(as_of) else 0.0

    # Outcome events: an on-time line on its delivery day, a late (or overdue) one the day after its promise.
    promised = _days(history["promised_date"])
    delivered = _days(history["delivered_date"])
    late = ~(delivered <= promised)  # open lines (NaN) count as late once their promise has passed
    known = np.where(late, promised + 1, delivered)
    # How late a late line was is known only once it arrives: its delay counts from its delivery (an open one's,
    # never), over the lines whose delay is known ("dn"); counted from the day after its promise, a delivery
    # months later leaked into every order placed in between.
    delay = np.where(late, delivered - promised, 0.0)
    delay_known = np.where(late, delivered, known)
    decay, fast = _growth(known, origin, HALF_LIFE_DAYS), _growth(known, origin, FAST_HALF_LIFE_DAYS)
    late_f = late.astype(float)
    outcome_values = {
        "n": np.ones(len(history)),
        "late": late_f,
        "wn": decay,
        "wlate": late_f * decay,
        "fn": fast,
        "flate": late_f * fast,
    }
    back, fast_back = 1 / _growth(as_of, origin, HALF_LIFE_DAYS), 1 / _growth(as_of, origin, FAST_HALF_LIFE_DAYS)

    def keys(frame: pd.DataFrame, *columns: str) -> np.ndarray:
        if not columns:  # one group: every row
            return np.zeros(len(frame), dtype=object)
        # A missing column (a frame without categories) is one unknown value.
        parts = [
            frame[c].astype("string").fillna("?") if c in frame else pd.Series("?", index=frame.index, dtype="string")
            for c in columns
        ]
        joined = parts[0] if len(parts) == 1 else parts[0].str.cat(parts[1:], sep="\x1f")
        return joined.to_numpy(dtype=object)

    def stats(*columns: str) -> dict[str, np.ndarray]:
        found = _past_sums(keys(history, *columns), known, outcome_values, keys(targets, *columns), as_of)
        found["wn"] *= back
        found["wlate"] *= back
        found["fn"] *= fast_back
        found["flate"] *= fast_back
        return found

    overall, by_mode = stats(), stats("shipment_mode")
    by_category, by_category_mode = stats("category"), stats("category", "shipment_mode")
    by_supplier, by_supplier_mode = stats("supplier_id"), stats("supplier_id", "shipment_mode")

    overall_rate = _shrunk(overall["late"], overall["n"], DEFAULT_LATE_RATE, RECENT_STRENGTH)
    overall_recent = _shrunk(overall["wlate"], overall["wn"], overall_rate, RECENT_STRENGTH)
    mode_recent = _shrunk(by_mode["wlate"], by_mode["wn"], overall_recent, RECENT_STRENGTH)
    category_recent = _shrunk(by_category["wlate"], by_category["wn"], overall_recent, RECENT_STRENGTH)
    category_mode_recent = _shrunk(
        by_category_mode["wlate"], by_category_mode["wn"], (mode_recent + category_recent) / 2, RECENT_STRENGTH
    )
    supplier_rate = _shrunk(by_supplier["late"], by_supplier["n"], overall_rate, PRIOR_STRENGTH)
    supplier_recent = _shrunk(by_supplier["wlate"], by_supplier["wn"], category_mode_recent, RECENT_STRENGTH)
    supplier_mode_recent = _shrunk(by_supplier_mode["wlate"], by_supplier_mode["wn"], supplier_recent, RECENT_STRENGTH)
    overall_fast = _shrunk(overall["flate"], overall["fn"], overall_recent, RECENT_STRENGTH)
    # Without recent outcomes a supplier keeps its slower rate, moved by the drift of the overall rate.
    drifted = np.clip(supplier_recent + overall_fast - overall_recent, 0.001, 0.999)
    supplier_fast = _shrunk(by_supplier["flate"], by_supplier["fn"], drifted, RECENT_STRENGTH)
    supplier_mode_fast = _shrunk(by_supplier_mode["flate"], by_supplier_mode["fn"], supplier_fast, RECENT_STRENGTH)
    delays = {"dn": np.ones(len(history)), "delay": np.nan_to_num(delay)}
    all_delays, supplier_delays = (
        _past_sums(keys(history, *by), delay_known, delays, keys(targets, *by), as_of) for by in ((), ("supplier_id",))
    )
    overall_delay = _shrunk(all_delays["delay"], all_delays["dn"], 1.0, RECENT_STRENGTH)
    supplier_delay = _shrunk(supplier_delays["delay"], supplier_delays["dn"], overall_delay, PRIOR_STRENGTH)
    last_late = _last_late_day(history, known, late, targets, as_of)
    years_since_late = np.where(np.isfinite(last_late), (as_of - last_late) / 365.25, 10.0).clip(0, 10)

    # Lines already past their promise and still undelivered (as of the target day): open trouble.
    delivered_late = np.where(late & np.isfinite(delivered), delivered, np.nan)
    supplier_events, supplier_targets = keys(history, "supplier_id"), keys(targets, "supplier_id")
    came_in = _past_sums(supplier_events, delivered_late, {"n": late_f}, supplier_targets, as_of)
    overdue = by_supplier["late"] - came_in["n"]

    # The supplier's usual promised lead time: order facts, known from the day each order was placed.
    promised_lead_past = promised - _days(history["order_date"])
    lead_sums = _past_sums(
        keys(history, "supplier_id"),
        _days(history["order_date"]),
        {"n": np.isfinite(promised_lead_past).astype(float), "lead": np.nan_to_num(promised_lead_past)},
        keys(targets, "supplier_id"),
        as_of,
    )
    lead = (_days(targets["promised_date"]) - _days(targets["order_date"])).astype(float)
    usual_lead = np.where(lead_sums["n"] > 0, lead_sums["lead"] / np.maximum(lead_sums["n"], 1), np.nan)
    quantity = targets["quantity"].astype(float).to_numpy()
    value = np.where(in_reference_currency(history, targets), targets["value"].astype(float).to_numpy(), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit_price = np.where(quantity > 0, value / quantity, np.nan)
    month = targets["promised_date"].dt.month.to_numpy(dtype=float)
    modes = targets["shipment_mode"].to_numpy(dtype=object)

    features = pd.DataFrame(
        {
            "supplier_late_rate": supplier_rate,
            "supplier_recent_late_rate": supplier_recent,
            "supplier_mode_recent_late_rate": supplier_mode_recent,
            "category_recent_late_rate": category_recent,
            "mode_recent_late_rate": mode_recent,
            "overall_recent_late_rate": overall_recent,
            "supplier_mode_fast_late_rate": supplier_mode_fast,
            "overall_fast_late_rate": overall_fast,
            "supplier_trend": supplier_recent - supplier_rate,
            "supplier_history_log": np.log1p(by_supplier["n"]),
            "supplier_overdue_open_log": np.log1p(np.clip(overdue, 0, None)),
            "years_since_last_late": years_since_late,
            "supplier_mean_delay": supplier_delay,
            "lead_time_days": lead,
            "lead_time_ratio": lead / np.maximum(np.where(np.isfinite(usual_lead), usual_lead, lead), 1.0),
            "quantity_log": np.log1p(np.clip(np.nan_to_num(quantity), 0, None)),
            "order_value_log": np.log1p(np.clip(np.nan_to_num(value), 0, None)),
            "unit_price_log": np.log1p(np.clip(unit_price, 0, None)),
            "country_risk": _optional(targets, "country_risk"),
            "distance_km": _optional(targets, "distance_km"),
            "month_sin": np.sin(2 * np.pi * month / 12),
            "month_cos": np.cos(2 * np.pi * month / 12),
            **{f"mode_{m}": (modes == m).astype(float) for m in SHIPMENT_MODES},
        },
        index=targets.index,
    )
    return features[FEATURES]


def in_reference_currency(history: pd.DataFrame, targets: pd.DataFrame) -> np.ndarray:
    """Which targets' money is in the history's most common currency (ties: the first code). Chainsight keeps no
    exchange rates, so a line in another currency gets no value or unit-price feature (as a line without a
    value): 9,000 JPY is not a large order next to 90 EUR ones. Without currencies every line is comparable."""
    if "currency" not in history or "currency" not in targets:
        return np.ones(len(targets), dtype=bool)
    counts = history["currency"].dropna().value_counts()
    if counts.empty:
        return np.ones(len(targets), dtype=bool)
    reference = min(counts[counts == counts.max()].index)
    currency = targets["currency"]
    return ((currency == reference) | currency.isna()).to_numpy(dtype=bool)


def _growth(days: np.ndarray, origin: float, half_life: float) -> np.ndarray:
    """exp(t / tau) relative to the first target day (keeps the decayed sums in floating-point range)."""
    return np.exp(np.clip((days - origin) * np.log(2) / half_life, -700, 700))


def _optional(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame:
        return np.full(len(frame), np.nan)
    return frame[column].astype(float).to_numpy()


def _last_late_day(
    history: pd.DataFrame, known: np.ndarray, late: np.ndarray, targets: pd.DataFrame, as_of: np.ndarray
) -> np.ndarray:
    """The day the supplier's most recent late outcome became known before each target (NaN if none)."""
    result = np.full(len(targets), np.nan)
    late_events = pd.DataFrame({"supplier": history["supplier_id"].to_numpy()[late], "t": known[late]}).dropna()
    by_supplier = {k: np.sort(g["t"].to_numpy()) for k, g in late_events.groupby("supplier", sort=False)}
    supplier = targets["supplier_id"].to_numpy()
    for key, index in pd.Series(np.arange(len(targets))).groupby(supplier).indices.items():
        times = by_supplier.get(key)
        if times is None:
            continue
        cut = np.searchsorted(times, as_of[index], side="left")
        found = cut > 0
        result[index[found]] = times[cut[found] - 1]
    return result
