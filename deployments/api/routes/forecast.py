"""``/ai/forecast``: demand forecasts, seasonal analysis, supplier lead times and stock targets.

The ingress authenticates, reads history under the caller's row-level security (one short
transaction, released before any model work), and sends frames to the ``ForecastService``
deployment through its handle. A demand forecast comes from the registry's champion batch run when
that run is fresh (trained on data up to the last complete period, long enough, with the requested
quantiles), otherwise it is fitted on request; the response says which and why.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import pandas as pd
from fastapi import APIRouter, Body, Query
from fastapi.exceptions import RequestValidationError

from common.database import TenantTransaction
from common.errors import NotFoundError, PermissionDeniedError
from deployments.api.deps import CallerDep, ModelHandlesDep
from deployments.api.model_calls import unwrap
from inventory import members
from inventory.order_costs import order_costs
from inventory.order_rounding import order_step
from inventory.position import location_position, require_location
from training import history as ledger
from training import registry
from training.drift import SCALE_HISTORY_DAYS, latest_scorable, matured_forecasts
from training.forecast_schemas import (
    AccuracyReport,
    DemandForecast,
    Freq,
    InventoryPolicy,
    InventoryPolicyRequest,
    RunAccuracy,
    RunInfo,
    SeasonalAnalysis,
    SupplyPrediction,
)
from training.frequency import BATCH_HORIZON, MAX_HORIZON
from training.lead_time_choice import LeadTime, choose_lead_time
from training.policy_terms import OrderingTerms, ordering_terms, withhold_order
from training.serving import TRAINED_KINDS, TrainedRun
from training.stored_forecast import fresh_stored_forecast
from training.supplier_history import SupplierHistory, scoped_supplier_history
from training.trained_series import trained_run_for_series

router = APIRouter(prefix="/ai/forecast", tags=["forecast"])

MAX_QUANTILES = 9


@router.get("/demand", response_model=DemandForecast, summary="Demand forecast with prediction intervals")
async def demand_forecast(
    caller: CallerDep,
    handles: ModelHandlesDep,
    product_id: UUID,
    warehouse_id: UUID,
    horizon: Annotated[
        int | None,
        Query(description="periods ahead (1 to 366 daily, 104 weekly); default the batch's: 28 daily, 13 weekly"),
    ] = None,
    freq: Freq = "D",
    quantiles: Annotated[str, Query(description="comma-separated levels in (0, 1)")] = "0.1,0.5,0.9",
    refresh: Annotated[bool, Query(description="fit now even when a fresh stored forecast exists")] = False,
) -> DemandForecast:
    # The batch's horizon, so a default request is served from the stored forecast: until 2026-12-07 a weekly one
    # asked 28 weeks, longer than the 13 the weekly champion stores, and was refitted every time.
    periods = BATCH_HORIZON[freq] if horizon is None else horizon
    _check_horizon(periods, freq)
    levels = _parse_quantiles(quantiles)
    now = datetime.now(UTC)

    async def read(
        tx: TenantTransaction,
    ) -> tuple[pd.DataFrame, datetime, DemandForecast | None, registry.RunRecord | None, TrainedRun | None]:
        if refresh and not tx.role.can_write:  # a forced refit costs model time: not every viewer's to spend
            raise PermissionDeniedError("refresh=true refits the forecast and needs the planner or admin role")
        await require_location(tx.conn, product_id, warehouse_id)
        period = await ledger.current_period(tx.conn, now, freq)
        history = await ledger.demand_history(
            tx.conn, freq=freq, as_of=now, product_id=product_id, warehouse_id=warehouse_id, active_only=False,
            period=period,
        )  # fmt: skip
        stored = None
        if not refresh:
            stored = await fresh_stored_forecast(
                tx.conn, tx.tenant_id, product_id, warehouse_id, freq, periods, levels, period
            )
        champion = None if stored else await registry.champion(tx.conn, tx.tenant_id, registry.champion_key(freq))
        if champion is None or champion.model_type not in TRAINED_KINDS or not champion.artifact_uri:
            return history, _label(period, freq), stored, None, None
        # Whether the run was trained on this series, and its own holdout error (not the run's mean over every series).
        model = await trained_run_for_series(
            tx.conn, tx.tenant_id, champion, ledger.series_id(product_id, warehouse_id)
        )
        return history, _label(period, freq), stored, champion, model

    history, start, stored, champion, model = await caller.run(read)
    if stored is not None:
        stored.history_length = len(history)
        return stored
    if champion is not None and model is not None and not history.empty:
        trained = await unwrap(
            handles.require("forecast").trained.remote(model, history[["unique_id", "ds", "y"]], periods, levels)
        )
        if trained is not None:
            return DemandForecast(
                product_id=product_id, warehouse_id=warehouse_id, freq=freq, horizon=periods, source="trained",
                run=RunInfo.from_record(champion), **trained,
            )  # fmt: skip
    result = await unwrap(
        handles.require("forecast").forecast.remote(history[["ds", "y"]], freq, periods, levels, start=start)
    )
    return DemandForecast(
        product_id=product_id, warehouse_id=warehouse_id, freq=freq, horizon=periods, source="fitted", **result
    )


@router.get("/seasonality", response_model=SeasonalAnalysis, summary="Seasonal periods, strength, STL, peak weeks")
async def seasonality(
    caller: CallerDep, handles: ModelHandlesDep, product_id: UUID, warehouse_id: UUID, freq: Freq = "W"
) -> SeasonalAnalysis:
    now = datetime.now(UTC)

    async def read(tx: TenantTransaction) -> pd.DataFrame:
        await require_location(tx.conn, product_id, warehouse_id)
        return await ledger.demand_history(
            tx.conn, freq=freq, as_of=now, product_id=product_id, warehouse_id=warehouse_id, active_only=False
        )

    history = await caller.run(read)
    if history.empty:
        raise NotFoundError(
            "no stock movements for this product at this warehouse: nothing to analyse", code="no_history"
        )
    result = await unwrap(handles.require("forecast").seasonality.remote(history[["ds", "y"]], freq))
    return SeasonalAnalysis(product_id=product_id, warehouse_id=warehouse_id, freq=freq, **result)


@router.get("/supply", response_model=SupplyPrediction, summary="Supplier lead-time distribution and on-time odds")
async def supply(
    caller: CallerDep,
    handles: ModelHandlesDep,
    supplier_id: UUID,
    warehouse_id: Annotated[UUID | None, Query(description="its orders to this warehouse, given 10 receipts")] = None,
    product_id: Annotated[UUID | None, Query(description="its orders of this product, given 10 receipts")] = None,
) -> SupplyPrediction:
    now = datetime.now(UTC)

    async def read(tx: TenantTransaction) -> SupplierHistory | None:
        reader_zone = await members.zone_name_for(tx.conn, tx.user_id)
        found = await scoped_supplier_history(
            tx.conn, supplier_id, warehouse_id=warehouse_id, product_id=product_id, now=now, reader_zone=reader_zone
        )
        if found is not None:  # an unknown supplier is named first
            await _require_filters(tx, warehouse_id, product_id)
        return found

    found = await caller.run(read)
    if found is None:
        raise NotFoundError(f"no supplier {supplier_id}", code="unknown_supplier")
    result = await unwrap(
        handles.require("forecast").supply.remote(found.received, found.open_orders, found.nominal_lead_time_days, now)
    )
    result["lead_time"]["notes"].append(f"orders read: {found.scope}")
    return SupplyPrediction(supplier_id=supplier_id, **result)


@router.post(
    "/inventory-policy",
    response_model=InventoryPolicy,
    summary="Safety stock, reorder point, order-up-to level and EOQ for a service level, checked by simulation",
)
async def inventory_policy(
    payload: Annotated[InventoryPolicyRequest, Body()], caller: CallerDep, handles: ModelHandlesDep
) -> InventoryPolicy:
    now = datetime.now(UTC)
    p, w = payload.product_id, payload.warehouse_id

    async def read(tx: TenantTransaction) -> dict[str, Any]:
        position = await location_position(tx.conn, p, w)
        period = await ledger.current_period(tx.conn, now, payload.freq)
        history = await ledger.demand_history(  # a deactivated product or warehouse still has its history
            tx.conn, freq=payload.freq, as_of=now, product_id=p, warehouse_id=w, period=period, active_only=False
        )
        terms = await ordering_terms(tx.conn, p, w, payload.supplier_id, now)
        return {"history": history, "start": _label(period, payload.freq), "position": position, "terms": terms}

    data = await caller.run(read)
    forecast = handles.require("forecast")
    terms: OrderingTerms = data["terms"]
    lead_time = await _lead_time(payload, terms.supplier, terms.rule_lead_days, forecast, now)
    position = data["position"]
    costs = order_costs(position, payload.ordering_cost, payload.holding_cost_per_unit_year, payload.cost_currency)
    options = {
        "lead_time_days": lead_time.mean_days,
        "lead_time_sd_days": lead_time.sd_days,
        "lead_time_samples_days": lead_time.samples_days,
        "service_level": payload.service_level,
        "review_period_days": payload.review_period_days,
        "ordering_cost": payload.ordering_cost,
        "holding_cost_per_unit_year": costs.holding_cost_per_unit_year,
        "min_order_quantity": payload.min_order_quantity,
        "clip_outliers": payload.clip_outliers,
        "order_step": order_step(
            payload.order_multiple or terms.rule_order_multiple,
            terms.unit_of_measure,
            terms.unit_category,
            terms.unit_ratio,
        ),
        "on_hand": position.on_hand,
        "reserved": position.reserved,
        "on_order": position.on_order,
        "start": data["start"],
    }
    result = await unwrap(forecast.inventory.remote(data["history"][["ds", "y"]], payload.freq, options))
    return InventoryPolicy(
        product_id=p,
        warehouse_id=w,
        supplier_id=terms.supplier_id,
        lead_time_source=lead_time.source,
        **costs.as_dict(),
        **withhold_order(result, terms),
    )


@router.get(
    "/accuracy",
    response_model=AccuracyReport,
    summary="Live accuracy of stored forecasts against actual demand (MASE, bias) and drift flags",
)
async def accuracy(
    caller: CallerDep,
    handles: ModelHandlesDep,
    freq: Freq = "D",
    runs: Annotated[int, Query(ge=1, le=50, description="latest runs to score")] = 10,
) -> AccuracyReport:
    now = datetime.now(UTC)
    model_name = registry.champion_key(freq)

    async def read(tx: TenantTransaction) -> tuple[pd.DataFrame, pd.DataFrame, UUID]:
        forecasts = await matured_forecasts(tx.conn, tx.tenant_id, model_name, freq, as_of=now, runs=runs)
        if forecasts.empty:
            return forecasts, forecasts, tx.tenant_id
        days = (now.replace(tzinfo=None) - forecasts["ds"].min()).days + SCALE_HISTORY_DAYS
        actuals = await ledger.demand_history(tx.conn, freq=freq, as_of=now, lookback_days=days, active_only=False)
        return forecasts, actuals[["unique_id", "ds", "y"]], tx.tenant_id

    forecasts, actuals, tenant_id = await caller.run(read)
    if forecasts.empty:
        return AccuracyReport(model_name=model_name, drift=False, runs=[])
    scored = await unwrap(
        handles.require("forecast").accuracy.remote(forecasts, actuals, freq, str(tenant_id), model_name)
    )
    report = [RunAccuracy.model_validate(r) for r in scored]
    latest = latest_scorable(report)  # not report[0]: last night's run, one matured date, is never flagged
    return AccuracyReport(model_name=model_name, drift=bool(latest and latest.drift), runs=report)


@router.get("/runs", response_model=list[RunInfo], summary="The model registry: recent runs of a forecast model")
async def runs(caller: CallerDep, freq: Freq = "D", limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[RunInfo]:
    async def read(tx: TenantTransaction) -> list[registry.RunRecord]:
        return await registry.list_runs(tx.conn, tx.tenant_id, registry.champion_key(freq), limit)

    return [RunInfo.from_record(r) for r in await caller.run(read)]


async def _lead_time(
    payload: InventoryPolicyRequest,
    supplier: SupplierHistory | None,
    rule_lead: float | None,
    forecast: Any,
    now: datetime,
) -> LeadTime:
    """The supplier's lead-time estimate is asked of the forecast service only when the request gives none."""
    estimate = None
    if payload.lead_time_days is None and supplier is not None:
        nominal = rule_lead if rule_lead is not None else supplier.nominal_lead_time_days
        # The open orders too: one outlasting the receipts is a lead time of at least its time out.
        report = await unwrap(forecast.supply.remote(supplier.received, supplier.open_orders, nominal, now))
        estimate = report["lead_time"]
    receipts = supplier.received if supplier is not None else None
    scope = supplier.scope if supplier is not None else None
    return choose_lead_time(payload.lead_time_days, payload.lead_time_sd_days, estimate, receipts, rule_lead, scope)


async def _require_filters(tx: TenantTransaction, warehouse_id: UUID | None, product_id: UUID | None) -> None:
    """404 for a warehouse or product the caller cannot see: until 2026-12-07 its orders were none, so /supply
    answered with the supplier's pooled ones."""
    for table, noun, named in (("warehouses", "warehouse", warehouse_id), ("products", "product", product_id)):
        if named is not None and await tx.conn.fetchval(f"SELECT 1 FROM app.{table} WHERE id = $1", named) is None:
            raise NotFoundError(f"no {noun} {named}", code=f"unknown_{noun}")


def _label(period: pd.Timestamp, freq: str) -> datetime:
    """The label of the current (first unobserved) period, where the demand history ends: the day, or the Sunday
    ending this week, on the calendar of the tenant's warehouses."""
    return (period + pd.Timedelta(days=6 if freq == "W" else 0)).to_pydatetime()


def _check_horizon(horizon: int, freq: str) -> None:
    limit = MAX_HORIZON[freq]
    if not 1 <= horizon <= limit:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "horizon"),
                    "msg": f"horizon must be between 1 and {limit} periods for freq {freq!r}, got {horizon}",
                    "type": "horizon_out_of_range",
                }
            ]
        )


def _parse_quantiles(text: str) -> list[float]:
    try:
        levels = sorted({float(part) for part in text.split(",") if part.strip()})
    except ValueError:
        levels = []
    # Four decimals at most: a finer level (1e-9, 0.4999999999) names an interval of 100% or 0%, which no model has.
    if not levels or len(levels) > MAX_QUANTILES or any(not 0 < q < 1 or round(q, 4) != q for q in levels):
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "quantiles"),
                    "msg": f"give 1 to {MAX_QUANTILES} comma-separated levels strictly between 0 and 1, with at most "
                    f"four decimals, got {text!r}",
                    "type": "invalid_quantiles",
                }
            ]
        )
    return levels
