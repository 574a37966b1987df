"""Generated delivery history with a known lateness signal, for tests, the benchmark and the demo.

Each supplier has a hidden reliability; lateness also rises with the origin country's risk, sea freight,
tight promised lead times, large orders and the year-end season. The generator returns the frame in the
convention of ``risk.features`` plus the true probability of each line, so a model can be checked
against the signal it should recover.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from risk.features import SHIPMENT_MODES

_COUNTRIES = {"DE": 13.0, "NL": 11.0, "PL": 23.0, "US": 21.0, "CN": 40.0, "TW": 35.0, "IN": 46.0, "VN": 44.0}


def generate_history(
    *,
    lines: int = 20_000,
    suppliers: int = 80,
    start: date = date(2023, 1, 1),
    days: int = 1_000,
    seed: int = 0,
) -> pd.DataFrame:
    """``lines`` purchase-order lines over ``days`` days; columns of ``DELIVERY_COLUMNS`` plus ``true_p``."""
    rng = np.random.default_rng(seed)
    countries = np.array(list(_COUNTRIES))
    supplier_country = rng.choice(countries, size=suppliers)
    reliability = rng.normal(0.0, 1.0, size=suppliers)  # hidden: higher = later
    usual_lead = rng.choice([7, 10, 14, 21, 30, 45], size=suppliers)
    supplier_mode = np.where(
        np.isin(supplier_country, ["CN", "TW", "IN", "VN"]),
        rng.choice(["sea", "air"], size=suppliers, p=[0.8, 0.2]),
        rng.choice(["road", "rail"], size=suppliers, p=[0.8, 0.2]),
    )
    distance = np.where(
        np.isin(supplier_country, ["CN", "TW", "IN", "VN"]),
        rng.uniform(7000, 11000, suppliers),
        rng.uniform(100, 1500, suppliers),
    )
    typical_value = np.exp(rng.normal(7.5, 1.0, size=suppliers))

    supplier = rng.integers(0, suppliers, size=lines)
    order_offset = np.sort(rng.integers(0, days, size=lines))
    order_date = pd.to_datetime(start) + pd.to_timedelta(order_offset, unit="D")
    promised_lead = np.maximum(2, np.round(usual_lead[supplier] * rng.uniform(0.6, 1.3, size=lines))).astype(int)
    promised_date = order_date + pd.to_timedelta(promised_lead, unit="D")
    value = typical_value[supplier] * np.exp(rng.normal(0, 0.8, size=lines))
    quantity = np.maximum(1, np.round(value / rng.uniform(2, 40, size=lines)))
    mode = supplier_mode[supplier].copy()
    switch = rng.random(lines) < 0.1
    mode[switch] = rng.choice(list(SHIPMENT_MODES), size=int(switch.sum()))
    country_risk = np.array([_COUNTRIES[c] for c in supplier_country[supplier]])
    tightness = promised_lead / usual_lead[supplier]
    month = promised_date.month.to_numpy()

    logit = (
        -1.9
        + 0.9 * reliability[supplier]
        + 0.03 * (country_risk - 25)
        + 0.6 * (mode == "sea")
        - 0.4 * (mode == "air")
        + 2.5 * (1 - tightness)
        + 0.35 * np.log(value / typical_value[supplier])
        + 0.6 * np.isin(month, [11, 12, 1])
    )
    true_p = 1 / (1 + np.exp(-logit))
    late = rng.random(lines) < true_p
    delay = np.where(late, np.ceil(rng.gamma(2.0, 2.0 + 2.0 * (mode == "sea"), size=lines)), 0)
    early = np.where(late, 0, -np.floor(rng.uniform(0, 3, size=lines) * (rng.random(lines) < 0.5)))
    delivered_date = promised_date + pd.to_timedelta(delay + early, unit="D")
    delivered_date = pd.Series(delivered_date).where(delivered_date >= order_date, order_date).to_numpy()

    return pd.DataFrame(
        {
            "supplier_id": np.char.add("SUP-", supplier.astype(str)),
            "order_date": order_date,
            "promised_date": promised_date,
            "delivered_date": pd.to_datetime(delivered_date),
            "quantity": quantity,
            "value": np.round(value, 2),
            "shipment_mode": mode,
            "country_risk": country_risk,
            "distance_km": np.round(distance[supplier], 0),
            "origin_country": supplier_country[supplier],
            "true_p": true_p,
        }
    )
