"""Forecast accuracy as Ray metrics: exported by Ray's metrics agent on the node of whichever process sets them.

Prometheus scrapes them from every Chainsight pod (cluster/monitoring/podmonitor.yaml renames
``ray_chainsight_*`` to ``chainsight_*``). Only the nightly batch sets them, from its own cluster while its
job runs: the agent drops a process's values a couple of minutes after it ends, and the cluster goes with the
job, so the alert and dashboard look back 26 h. A long-lived process (a Serve replica) must not set them: the
agent re-exports a gauge's last value on every scrape for as long as the process lives, so it never clears.
"""

from __future__ import annotations

from training.forecast_schemas import RunAccuracy

TAGS = ("tenant", "model_name")


class DriftGauges:
    """The latest scored run's live MASE, relative bias and drift flag per tenant and registered model."""

    def __init__(self) -> None:
        from ray.util.metrics import Gauge

        self.live_mase = Gauge(
            "chainsight_forecast_live_mase", "MASE of matured forecasts, newest run with 7 matured dates", TAGS
        )
        self.live_bias = Gauge(
            "chainsight_forecast_live_bias", "Relative bias of matured forecasts, newest run with 7 matured dates", TAGS
        )
        self.drift = Gauge(
            "chainsight_forecast_drift", "1 when the newest run with 7 matured dates drifts, else 0", TAGS
        )

    def record(self, tenant: str, model_name: str, latest: RunAccuracy) -> None:
        tags = {"tenant": tenant, "model_name": model_name}
        if latest.mase is not None:
            self.live_mase.set(latest.mase, tags=tags)
        if latest.bias is not None:
            self.live_bias.set(latest.bias, tags=tags)
        self.drift.set(1.0 if latest.drift else 0.0, tags=tags)
