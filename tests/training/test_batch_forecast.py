"""The nightly batch job's defaults (its command line and ``run_batch``), without Ray or a database."""

from __future__ import annotations

import inspect

from reports.forecast import INTERVAL_QUANTILES
from training import batch_forecast


def test_the_batch_stores_every_level_the_forecast_report_asks_for_by_default(monkeypatch):
    # Before, it stored 10/50/90% only: the report's 2.5/97.5% made every stored forecast stale to it, so the PDF
    # refitted each series while /ai/forecast/demand served the stored champion.
    asked = {}
    monkeypatch.setattr(batch_forecast, "run_with_ray", lambda **kwargs: asked.update(kwargs) or [])
    batch_forecast.main([])
    run_batch_default = inspect.signature(batch_forecast.run_batch).parameters["quantiles"].default
    assert {0.025, 0.975} <= set(INTERVAL_QUANTILES)
    assert set(asked["quantiles"]) >= set(INTERVAL_QUANTILES) and set(run_batch_default) >= set(INTERVAL_QUANTILES)
