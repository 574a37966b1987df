"""The ``ForecastService`` deployment's class called in process (no Ray, no Serve): what its methods do besides
returning the model work's result."""

from __future__ import annotations

import pandas as pd
import pytest
from ray.util.metrics import Gauge

from deployments.forecast_service import ForecastService
from training.drift import accuracy_report

DAYS = pd.date_range("2025-01-01", periods=28, freq="D")


async def test_an_accuracy_read_answers_the_report_and_sets_no_metric(monkeypatch: pytest.MonkeyPatch):
    # A gauge set in a long-lived replica is exported until the replica ends: one user's read of a drifting run
    # kept ChainsightForecastDrift firing for days. Only the nightly batch's scoring sets the accuracy gauges.
    set_gauges: list[tuple[str, float]] = []
    monkeypatch.setattr(Gauge, "set", lambda gauge, value, tags=None: set_gauges.append((gauge.info["name"], value)))
    # Demand of 10 a day forecast at 15 for the last 14 days: a drifting run.
    actuals = pd.DataFrame({"unique_id": "a", "ds": DAYS, "y": [10.0, 11.0] * 14})
    forecasts = pd.DataFrame(
        {
            "run_id": "00000000-0000-4000-8000-000000000001",
            "version": 1,
            "model_name": "demand-D",
            "backtest_mase": 0.8,
            "unique_id": "a",
            "ds": DAYS[-14:],
            "yhat": 15.0,
        }
    )
    service = ForecastService.func_or_class()

    answer = await service.accuracy(forecasts, actuals, "D", "tenant-a", "demand-D")

    assert answer == [run.model_dump(mode="json") for run in accuracy_report(forecasts, actuals, "D")]
    assert answer[0]["drift"] is True
    assert set_gauges == []
