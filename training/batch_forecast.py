"""Nightly batch forecasts: every active product x warehouse of every tenant, in parallel over Ray.

    ray job submit -- python -m deployments.jobs batch-forecast --freq D --horizon 28
    chainsight forecast-batch --freq W --horizon 13

Per tenant: demand history from the ledger (``training.history``), series partitioned over Ray
tasks running the service's model selection (``training.distributed``), forecasts written as each
chunk finishes, then the run's backtest metrics recorded and the run promoted to champion only if it
beats the current one. The run is keyed by the as-of date, frequency and horizon (by default 28 days, or 13
weeks for W): rerunning the same night reuses the run and replaces its rows, so the row count stays the same.
Progress goes to the log (the Ray job's output) chunk by chunk; a JSON summary line ends the run.

Before forecasting, the matured forecasts of the tenant's earlier runs are scored against the demand
that happened (``training.drift``): live MASE, relative bias and a drift flag go into the summary and
are exported as Ray metrics (``chainsight_forecast_live_mase``, ``_live_bias``, ``_drift``), which the
``ChainsightForecastDrift`` alert and the Grafana dashboard read.

The driver connects as the database owner (like migrations): it works across tenants and names the
tenant in every statement.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from uuid import UUID

import asyncpg
import numpy as np
import pandas as pd

from common.errors import describe
from training import drift, forecast_store, registry
from training import history as ledger
from training.distributed import forecast_on_ray
from training.frequency import BATCH_HORIZON, MAX_HORIZON
from training.job_args import check_horizon, non_negative_number, quantile_levels
from training.planning import Profile
from training.ray_metrics import DriftGauges

logger = logging.getLogger("training.batch_forecast")
# The levels stored by default: the median and the bounds of the 80% and 95% intervals, every level the demand
# forecast report asks for (reports.forecast.INTERVAL_QUANTILES) and /ai/forecast/demand's default 10/50/90%.
# A stored forecast serves only requests for levels it holds: with 10/50/90% alone, the report refitted every
# series, and its model and figures were not the stored champion's the API answers with.
STORED_QUANTILES = (0.025, 0.1, 0.5, 0.9, 0.975)


@dataclass
class TenantSummary:
    tenant_id: str
    series: int = 0
    rows: int = 0
    run_id: str | None = None
    version: int | None = None
    promoted: bool = False
    promotion: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    # Live accuracy of the newest run with enough matured periods (drift.latest_scorable), before tonight's run.
    accuracy: dict[str, Any] | None = None
    # Why the tenant's forecasts failed; the batch goes on with the next tenant and exits non-zero at the end.
    error: str | None = None


async def forecast_tenant(
    pool: asyncpg.Pool,
    tenant_id: UUID,
    *,
    freq: str,
    horizon: int,
    quantiles: Sequence[float],
    as_of: datetime,
    profile: Profile = "full",
    chunks: int | None = None,
    gauges: DriftGauges | None = None,
) -> TenantSummary:
    """Score the matured forecasts of earlier runs (``gauges`` exports the result), then forecast every active
    series of one tenant and register the run (Ray must be initialised)."""
    summary = TenantSummary(str(tenant_id))
    async with pool.acquire() as proxy:
        # One connection for the tenant's whole run (the pool hands out a proxy that behaves as one).
        conn = cast(asyncpg.Connection, proxy)
        scored = await drift.score_latest_runs(conn, tenant_id, registry.champion_key(freq), freq, as_of=as_of)
        # Not scored[0]: that is last night's run, one matured date, never flagged.
        latest = drift.latest_scorable(scored)
        if latest is not None:
            summary.accuracy = latest.model_dump(mode="json")
            if gauges is not None:
                gauges.record(str(tenant_id), registry.champion_key(freq), latest)
            if latest.drift:
                logger.warning("tenant %s: forecasts drift: %s", tenant_id, "; ".join(latest.reasons))
        # One read of the tenant's calendar: the history ends where the run's training data is said to end.
        period = await ledger.current_period(conn, as_of, freq, tenant_id=tenant_id)
        history = await ledger.demand_history(conn, freq=freq, as_of=as_of, tenant_id=tenant_id, period=period)
        if history.empty:
            logger.info("tenant %s: no active series", tenant_id)
            return summary
        ids = history.drop_duplicates("unique_id").set_index("unique_id")[["product_id", "warehouse_id"]]
        boundary = period.tz_localize(UTC).to_pydatetime()
        run = await registry.start_run(
            conn,
            tenant_id,
            model_name=registry.champion_key(freq),
            model_type="auto",
            run_key=registry.batch_run_key(boundary, freq, horizon),
            freq=freq,
            horizon=horizon,
            params={"profile": profile, "quantiles": list(quantiles), "selection_metric": "mase"},
            training_start=pd.Timestamp(history["ds"].min()).tz_localize(UTC).to_pydatetime(),
            training_end=boundary,
        )
        summary.run_id, summary.version = str(run.id), run.version
        started = time.monotonic()

        def progress(done: int, total: int, series_done: int, series_total: int) -> None:
            logger.info(
                "tenant %s: %d/%d chunks, %d/%d series (%.0f s)",
                tenant_id, done, total, series_done, series_total, time.monotonic() - started,
            )  # fmt: skip

        try:
            selections = []
            # Only unique_id, ds, y: any further column would be read as a covariate.
            series = history[["unique_id", "ds", "y"]]
            for chunk in forecast_on_ray(
                series, freq, horizon, quantiles, profile=profile, chunks=chunks, on_progress=progress
            ):
                frame = chunk.forecast.join(ids, on="unique_id")
                summary.rows += await forecast_store.write_forecasts(conn, tenant_id, run.id, frame)
                selections.append(chunk.selection)
            selection = pd.concat(selections, ignore_index=True)
            summary.series = len(selection)
            summary.metrics = run_metrics(selection)
            await registry.finish_run(conn, tenant_id, run.id, metrics=summary.metrics, series_count=summary.series)
        except Exception as exc:
            # A run left 'running' would stay so for ever: it is marked failed (a champion being refreshed stays
            # champion, its forecasts are for the same night) before the error goes on to the batch.
            await registry.fail_run(conn, tenant_id, run.id, error=describe(exc))
            raise
        decision = await registry.promote_if_better(conn, tenant_id, run.id, metric="mase")
    summary.promoted, summary.promotion = decision.promoted, decision.reason
    logger.info("tenant %s: run v%d, %d rows; %s", tenant_id, run.version, summary.rows, decision.reason)
    return summary


def run_metrics(selection: pd.DataFrame) -> dict[str, Any]:
    """The run's backtest summary: mean MASE over backtested series, and how many fell back."""
    errors = selection["error"].to_numpy(dtype=float)
    finite = errors[np.isfinite(errors)]
    mix = selection["model"].value_counts().to_dict()
    return {
        "mase": float(finite.mean()) if len(finite) else None,
        "median_mase": float(np.median(finite)) if len(finite) else None,
        "backtested_series": len(finite),
        "fallback_series": int(selection["note"].astype(str).str.startswith("fallback").sum()),
        "models": {str(k): int(v) for k, v in mix.items()},
    }


async def run_batch(
    database_url: str,
    *,
    freq: str = "D",
    horizon: int | None = None,
    quantiles: Sequence[float] = STORED_QUANTILES,
    as_of: datetime | None = None,
    tenant_ids: Sequence[UUID] | None = None,
    profile: Profile = "full",
    chunks: int | None = None,
    gauges: DriftGauges | None = None,
) -> list[TenantSummary]:
    from common.config import Settings
    from common.database import create_pool

    if horizon is None:
        horizon = BATCH_HORIZON.get(freq, 0)  # an unknown freq is refused just below
    if not 1 <= horizon <= MAX_HORIZON.get(freq, 0):
        raise SystemExit(f"horizon must be between 1 and {MAX_HORIZON.get(freq)} for freq {freq!r}")
    moment = as_of or datetime.now(UTC)
    too_late = future_as_of(moment)  # main refuses it before Ray starts; this is for the other callers
    if too_late:
        raise SystemExit(f"--as-of {too_late}")
    settings = Settings(_env_file=None, database_url=database_url, database_pool_min_size=1, database_pool_max_size=2)
    pool = await create_pool(settings)
    try:
        async with pool.acquire() as conn:
            known = [r["id"] for r in await conn.fetch("SELECT id FROM app.tenants ORDER BY created_at, id")]
        # A mistyped --tenant would otherwise forecast nothing and report success.
        unknown = sorted(str(t) for t in set(tenant_ids or ()) - set(known))
        if unknown:
            raise SystemExit(f"no tenant {', '.join(unknown)}")
        summaries = []
        for tenant_id in known if tenant_ids is None else tenant_ids:
            try:
                summary = await forecast_tenant(
                    pool,
                    tenant_id,
                    freq=freq,
                    horizon=horizon,
                    quantiles=quantiles,
                    as_of=moment,
                    profile=profile,
                    chunks=chunks,
                    gauges=gauges,
                )
            except Exception as exc:
                # One tenant's failure (its data, a lost connection, a failed Ray task) must not leave every
                # later tenant without forecasts: it is logged with its traceback, named in the summary, and
                # main() exits non-zero once the others are done. A rerun of the night replaces its rows.
                logger.exception("tenant %s: forecasts failed", tenant_id)
                summary = TenantSummary(str(tenant_id), error=describe(exc))
            summaries.append(summary)
        return summaries
    finally:
        await pool.close()


def future_as_of(moment: datetime) -> str | None:
    """Why ``moment`` (timezone-aware) cannot be a batch's as-of: more than a day ahead of now (a zone ahead of UTC
    is already tomorrow); None if it can. A mistyped year would pad every history with a year of zeros, promote a
    forecast of nothing as fresh, and refuse every real night's run as older than it until the calendar caught up."""
    if moment > datetime.now(UTC) + timedelta(days=1):
        return f"{moment:%Y-%m-%d} is in the future: a batch forecasts from data that exists"
    return None


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m deployments.jobs batch-forecast", description=(__doc__ or "").split("\n")[0]
    )
    # Bad values are refused here, before Ray starts (training.job_args).
    parser.add_argument("--freq", choices=sorted(MAX_HORIZON), default="D")
    parser.add_argument("--horizon", type=int, help="steps (default: 28 for D, 13 for W)")
    parser.add_argument("--quantiles", type=quantile_levels, default=",".join(f"{q:g}" for q in STORED_QUANTILES))
    parser.add_argument("--as-of", type=datetime.fromisoformat, default=None, help="ISO date; default now")
    parser.add_argument("--tenant", type=UUID, action="append", help="only these tenants (repeatable)")
    parser.add_argument("--profile", choices=["fast", "full"], default="full")
    parser.add_argument("--metrics-linger-s", type=non_negative_number, default=0.0,
                        help="keep the job alive this long after exporting accuracy metrics, so Prometheus scrapes "
                        "them from a cluster that ends with the job")  # fmt: skip
    args = parser.parse_args(argv)
    if args.horizon is not None:
        check_horizon(parser, args.horizon, args.freq)
    as_of = args.as_of.replace(tzinfo=args.as_of.tzinfo or UTC) if args.as_of else None
    too_late = None if as_of is None else future_as_of(as_of)
    if too_late:
        parser.error(f"argument --as-of: {too_late}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    summaries = run_with_ray(
        freq=args.freq,
        horizon=args.horizon,
        quantiles=args.quantiles,
        as_of=as_of,
        tenant_ids=args.tenant,
        profile=args.profile,
        metrics_linger_s=args.metrics_linger_s,
    )
    print(json.dumps({"batch_forecast": [asdict(s) for s in summaries]}, default=_plain))
    failed = [s.tenant_id for s in summaries if s.error]
    if failed:
        raise SystemExit(f"forecasts failed for {len(failed)} of {len(summaries)} tenants: {', '.join(failed)}")


def run_with_ray(database_url: str | None = None, metrics_linger_s: float = 0.0, **kwargs: Any) -> list[TenantSummary]:
    """Join the cluster (``ray job submit`` sets RAY_ADDRESS; otherwise a local one) and run the batch; accuracy
    gauges are exported from this driver and held ``metrics_linger_s`` before Ray is left."""
    from common.config import get_settings
    from common.ray_connection import ray_session

    settings = get_settings()
    url = database_url or settings.database_url
    if not url:
        raise SystemExit("DATABASE_URL is not set")
    with ray_session():
        summaries = asyncio.run(run_batch(url, gauges=DriftGauges(), **kwargs))
        if metrics_linger_s > 0 and any(s.accuracy for s in summaries):
            time.sleep(metrics_linger_s)
        return summaries


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
