"""The seasonal and supplier lead-time answers of the forecast service, as JSON-ready dicts (the rest of
what a planner asks is ``training.planning``, which re-exports these two)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from training.errors import ForecastInputError
from training.seasonality import analyse_seasonality
from training.supply import estimate_lead_time
from training.supply_arrivals import predict_open_orders


def seasonal_report(history: pd.DataFrame, freq: str) -> dict[str, Any]:
    """``analyse_seasonality`` as a response; components as parallel lists."""
    if history.empty:
        raise ForecastInputError("no demand history at this location to analyse")
    analysis = analyse_seasonality(history[["ds", "y"]], freq)
    parts = analysis.components
    return {
        "observations": analysis.observations,
        "candidate_periods": analysis.candidate_periods,
        "detected_periods": analysis.detected_periods,
        "autocorrelation": {str(k): v for k, v in analysis.autocorrelation.items()},
        "decomposed_period": analysis.decomposed_period,
        "seasonal_strength": analysis.seasonal_strength,
        "trend_strength": analysis.trend_strength,
        "seasonal_profile": {str(k): v for k, v in analysis.seasonal_profile.items()},
        "peak_weeks": analysis.peak_weeks,
        "components": {
            "ds": [pd.Timestamp(t).isoformat() for t in parts["ds"]],
            **{c: [float(v) for v in parts[c]] for c in ("observed", "trend", "seasonal", "resid")},
        },
        "notes": analysis.notes,
    }


def supply_report(
    received: pd.DataFrame, open_orders: pd.DataFrame, nominal_days: float | None, now: datetime
) -> dict[str, Any]:
    estimate = estimate_lead_time(received, open_orders=open_orders, now=now, nominal_days=nominal_days)
    predictions = predict_open_orders(open_orders, estimate, now=now)
    return {
        "lead_time": estimate.model_dump(),
        "open_orders": [
            {
                "purchase_order_id": p.purchase_order_id,
                "issued_at": p.issued_at.isoformat(),
                "expected_date": p.expected_date.isoformat() if p.expected_date else None,
                "predicted_arrival": {k: v.isoformat() for k, v in p.predicted_arrival.items()},
                "on_time_probability": p.on_time_probability,
                "already_late": p.already_late,
            }
            for p in predictions
        ],
    }
