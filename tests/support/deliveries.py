"""Delivery histories with a known lateness rule, in the shape ``risk.pipeline`` trains on."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd


def road_history(
    seed: int, lines: int, suppliers: int, late: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> pd.DataFrame:
    """``lines`` road deliveries over two years (ordered in date order, promised in 20 days), 4 days late where
    ``late(draw, supplier)`` holds for a uniform draw in [0, 1) and the supplier's index."""
    rng = np.random.default_rng(seed)
    supplier = rng.integers(0, suppliers, lines)
    ordered = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.sort(rng.integers(0, 700, lines)), unit="D")
    promised = ordered + pd.Timedelta(days=20)
    is_late = late(rng.random(lines), supplier)
    return pd.DataFrame({
        "supplier_id": [f"S{s}" for s in supplier], "category": "A", "order_date": ordered,
        "promised_date": promised, "delivered_date": promised + pd.to_timedelta(np.where(is_late, 4, 0), unit="D"),
        "quantity": 10.0, "value": 100.0, "shipment_mode": "road", "country_risk": np.nan, "distance_km": np.nan,
    })  # fmt: skip
