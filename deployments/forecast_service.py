"""The ``ForecastService`` Serve deployment: model work for ``/ai/forecast``, next to nothing else.

The ingress reads demand and order history under the caller's row-level security and sends plain
frames here; this replica fits and simulates (``training.planning``) and returns JSON-ready dicts.
It holds no database connection and no tenant state, so any replica can answer any tenant. Fits run
in a worker thread so that the replica keeps answering health checks while it computes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
from ray import serve

if TYPE_CHECKING:
    from training.serving import TrainedRun


@serve.deployment(name="ForecastService", max_ongoing_requests=8)
class ForecastService:
    def __init__(self) -> None:
        # Imported here, not at module level: the app builder imports this module in the Serve controller,
        # which must not load the modelling stack (statsforecast, xgboost, statsmodels).
        from training import drift, planning
        from training.serving import TrainedModels

        self._planning, self._drift = planning, drift
        # Ray Train champions' checkpoints: each loaded once per replica, the next one when the champion changes.
        self._trained = TrainedModels()

    async def forecast(
        self,
        history: pd.DataFrame,
        freq: str,
        horizon: int,
        quantiles: Sequence[float],
        start: datetime | None = None,
    ) -> dict[str, Any]:
        return await asyncio.to_thread(self._planning.forecast_demand, history, freq, horizon, quantiles, start=start)

    async def trained(
        self, run: TrainedRun, history: pd.DataFrame, horizon: int, quantiles: Sequence[float]
    ) -> dict[str, Any] | None:
        """The series forecast by a Ray Train champion; None when that model cannot answer for it."""
        return await asyncio.to_thread(self._trained.forecast, run, history, horizon, quantiles)

    async def seasonality(self, history: pd.DataFrame, freq: str) -> dict[str, Any]:
        return await asyncio.to_thread(self._planning.seasonal_report, history, freq)

    async def supply(
        self, received: pd.DataFrame, open_orders: pd.DataFrame, nominal_days: float | None, now: datetime
    ) -> dict[str, Any]:
        return await asyncio.to_thread(self._planning.supply_report, received, open_orders, nominal_days, now)

    async def accuracy(
        self, forecasts: pd.DataFrame, actuals: pd.DataFrame, freq: str, tenant_id: str, model_name: str
    ) -> list[dict[str, Any]]:
        """The report; no accuracy gauge is set here (training/ray_metrics.py: only the nightly batch sets them). A
        replica re-exports a gauge's last value for as long as it lives, so one user's read of a drifting run kept
        the drift alert firing for days. ``tenant_id`` and ``model_name`` are what the ingress sends; unused."""
        runs = await asyncio.to_thread(self._drift.accuracy_report, forecasts, actuals, freq)
        return [run.model_dump(mode="json") for run in runs]

    async def inventory(self, history: pd.DataFrame, freq: str, options: dict[str, Any]) -> dict[str, Any]:
        return await asyncio.to_thread(lambda: self._planning.inventory_report(history, freq, **options))
