"""``/ai/forecast``: demand forecasts, seasonal analysis, supplier lead times and stock targets.

The ingress authenticates, reads history under the caller's row-level security (one short
transaction, released before any model work), and sends frames to the ``ForecastService``
deployment through its handle. A demand forecast comes from the registry's champion batch run when
that run is fresh (trained on data up to the last complete period, long enough, with the requested
quantiles), otherwise it is fitted on request; the response says which and why.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import pandas as pd
from fastapi import APIRouter, Body, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from common.database import TenantTransaction
from common.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from deployments.api.deps import CallerDep, ModelHandlesDep
from inventory.schemas import StrictModel
from training import history as ledger
from training import registry
from training.errors import ForecastInputError
from training.planning import MAX_HORIZON
from training.serving import TRAINED_KINDS, TrainedRun

router = APIRouter(prefix="/ai/forecast", tags=["forecast"])

Freq = Literal["D", "W"]
MAX_QUANTILES = 9
# Annual holding cost as a share of unit cost when the caller gives no holding cost (a common 20-30%).
DEFAULT_HOLDING_RATE = 0.25


class ForecastPoint(BaseModel):
    ds: datetime
    yhat: float
    quantiles: dict[str, float] = Field(description="quantile level -> value, e.g. {'0.1': 3.2}")


class CandidateScore(BaseModel):
    model: str
    mase: float | None
    smape: float | None
    bias: float | None


class RunInfo(BaseModel):
    id: UUID
    model_name: str
    model_type: str
    version: int
    status: str
    training_end: datetime | None
    metrics: dict[str, Any]
    created_at: datetime


class DemandForecast(BaseModel):
    product_id: UUID
    warehouse_id: UUID
    freq: Freq
    horizon: int
    source: Literal["fitted", "stored", "trained"] = Field(
        description="fitted on request, the champion run's stored forecast, or the Ray Train champion's checkpoint "
        "applied to the latest history"
    )
    model: str = Field(description="the model that produced the forecast: auto_ets, ensemble, croston_sba, zero ...")
    reason: str = Field(description="why this model: backtest result or the documented fallback")
    history_length: int
    backtest_mase: float | None
    candidates: list[CandidateScore]
    run: RunInfo | None = None
    points: list[ForecastPoint]


class SeasonalAnalysis(BaseModel):
    product_id: UUID
    warehouse_id: UUID
    freq: Freq
    observations: int
    candidate_periods: list[int]
    detected_periods: list[int]
    autocorrelation: dict[str, float]
    decomposed_period: int | None
    seasonal_strength: float | None
    trend_strength: float | None
    seasonal_profile: dict[str, float]
    peak_weeks: list[int]
    components: dict[str, list[Any]] = Field(description="ds, observed, trend, seasonal, resid: parallel lists")
    notes: list[str]


class LeadTimeDistribution(BaseModel):
    receipts: int
    basis: str
    mean_days: float | None
    sd_days: float | None
    quantiles_days: dict[str, float]
    observed_mean_days: float | None
    observed_sd_days: float | None
    nominal_days: float | None
    on_time_probability: float | None
    on_time_interval: list[float] | None
    on_time_orders: int
    mean_delay_days: float | None
    notes: list[str]


class OpenOrderOutlook(BaseModel):
    purchase_order_id: UUID
    issued_at: datetime
    expected_date: str | None
    predicted_arrival: dict[str, str]
    on_time_probability: float | None
    already_late: bool


class SupplyPrediction(BaseModel):
    supplier_id: UUID
    lead_time: LeadTimeDistribution
    open_orders: list[OpenOrderOutlook]


class InventoryPolicyRequest(StrictModel):
    product_id: UUID
    warehouse_id: UUID
    service_level: float = Field(default=0.95, ge=0.5, le=0.9999, description="target cycle service level")
    freq: Freq = "D"
    review_period_days: float = Field(default=0, ge=0, le=365, description="0: continuous review (s, Q)")
    supplier_id: UUID | None = Field(default=None, description="default: the reorder rule's or latest PO's")
    lead_time_days: float | None = Field(default=None, ge=0, le=730, description="overrides the supplier history")
    lead_time_sd_days: float | None = Field(default=None, ge=0, le=365)
    ordering_cost: float | None = Field(default=None, ge=0, description="cost per order; enables the EOQ")
    holding_cost_per_unit_year: float | None = Field(default=None, gt=0, description="default 25% of unit cost")
    min_order_quantity: float = Field(default=0, ge=0)


class InventoryPolicy(BaseModel):
    product_id: UUID
    warehouse_id: UUID
    supplier_id: UUID | None
    lead_time_source: str
    forecast_model: str
    forecast_reason: str
    demand_per_period: float
    demand_sd_per_period: float
    demand_sd_source: str
    period_days: float
    policy: dict[str, Any]
    simulation: dict[str, Any]
    recommended_reorder_point: float
    recommendation_basis: str
    inventory_position: float
    order_now: float


@router.get("/demand", response_model=DemandForecast, summary="Demand forecast with prediction intervals")
async def demand_forecast(
    caller: CallerDep,
    handles: ModelHandlesDep,
    product_id: UUID,
    warehouse_id: UUID,
    horizon: Annotated[int, Query(description="periods ahead (1 to 366 daily, 104 weekly)")] = 28,
    freq: Freq = "D",
    quantiles: Annotated[str, Query(description="comma-separated levels in (0, 1)")] = "0.1,0.5,0.9",
    refresh: Annotated[bool, Query(description="fit now even when a fresh stored forecast exists")] = False,
) -> DemandForecast:
    _check_horizon(horizon, freq)
    levels = _parse_quantiles(quantiles)
    now = datetime.now(UTC)

    async def read(tx: TenantTransaction) -> tuple[pd.DataFrame, DemandForecast | None, registry.RunRecord | None]:
        if refresh and not tx.role.can_write:  # a forced refit costs model time: not every viewer's to spend
            raise PermissionDeniedError("refresh=true refits the forecast and needs the planner or admin role")
        await _require_location(tx, product_id, warehouse_id)
        history = await ledger.demand_history(
            tx.conn, freq=freq, as_of=now, product_id=product_id, warehouse_id=warehouse_id, active_only=False
        )
        stored = None if refresh else await _stored(tx, product_id, warehouse_id, freq, horizon, levels, now)
        champion = None if stored else await registry.champion(tx.conn, tx.tenant_id, registry.champion_key(freq))
        return history, stored, champion

    history, stored, champion = await caller.run(read)
    if stored is not None:
        stored.history_length = len(history)
        return stored
    if champion is not None and champion.model_type in TRAINED_KINDS and champion.artifact_uri and not history.empty:
        trained = await _call(
            handles.require("forecast").trained.remote(
                _trained_run(champion), history[["unique_id", "ds", "y"]], horizon, levels
            )
        )
        if trained is not None:
            return DemandForecast(
                product_id=product_id, warehouse_id=warehouse_id, freq=freq, horizon=horizon, source="trained",
                run=_run_info(champion), **trained,
            )  # fmt: skip
    result = await _call(
        handles.require("forecast").forecast.remote(
            history[["ds", "y"]], freq, horizon, levels, start=_first_future(now, freq)
        )
    )
    return DemandForecast(
        product_id=product_id, warehouse_id=warehouse_id, freq=freq, horizon=horizon, source="fitted", **result
    )


@router.get("/seasonality", response_model=SeasonalAnalysis, summary="Seasonal periods, strength, STL, peak weeks")
async def seasonality(
    caller: CallerDep, handles: ModelHandlesDep, product_id: UUID, warehouse_id: UUID, freq: Freq = "W"
) -> SeasonalAnalysis:
    now = datetime.now(UTC)

    async def read(tx: TenantTransaction) -> pd.DataFrame:
        await _require_location(tx, product_id, warehouse_id)
        return await ledger.demand_history(
            tx.conn, freq=freq, as_of=now, product_id=product_id, warehouse_id=warehouse_id, active_only=False
        )

    history = await caller.run(read)
    if history.empty:
        raise NotFoundError(
            "no stock movements for this product at this warehouse: nothing to analyse", code="no_history"
        )
    result = await _call(handles.require("forecast").seasonality.remote(history[["ds", "y"]], freq))
    return SeasonalAnalysis(product_id=product_id, warehouse_id=warehouse_id, freq=freq, **result)


@router.get("/supply", response_model=SupplyPrediction, summary="Supplier lead-time distribution and on-time odds")
async def supply(caller: CallerDep, handles: ModelHandlesDep, supplier_id: UUID) -> SupplyPrediction:
    now = datetime.now(UTC)

    async def read(tx: TenantTransaction) -> ledger.SupplierHistory | None:
        return await ledger.supplier_history(tx.conn, supplier_id, now=now)

    found = await caller.run(read)
    if found is None:
        raise NotFoundError(f"no supplier {supplier_id}", code="unknown_supplier")
    result = await _call(
        handles.require("forecast").supply.remote(found.received, found.open_orders, found.nominal_lead_time_days, now)
    )
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
        unit_cost = await _require_location(tx, p, w)
        history = await ledger.demand_history(tx.conn, freq=payload.freq, as_of=now, product_id=p, warehouse_id=w)
        supplier_id, rule_lead = payload.supplier_id, None
        if supplier_id is None:
            supplier_id, rule_lead = await ledger.product_supplier_lead_time(tx.conn, p, w)
        supplier = await ledger.supplier_history(tx.conn, supplier_id, now=now) if supplier_id else None
        if payload.supplier_id is not None and supplier is None:
            raise NotFoundError(f"no supplier {payload.supplier_id}", code="unknown_supplier")
        stock = await tx.conn.fetchrow(
            "SELECT on_hand, reserved FROM app.stock_levels WHERE product_id = $1 AND warehouse_id = $2", p, w
        )
        on_order = await tx.conn.fetchval(
            """
            SELECT coalesce(sum(l.quantity_base - l.received_base - l.cancelled_base), 0)
            FROM app.purchase_order_lines l
            JOIN app.purchase_orders po ON po.tenant_id = l.tenant_id AND po.id = l.purchase_order_id
            WHERE l.product_id = $1 AND po.warehouse_id = $2 AND po.status IN ('issued', 'partially_received')
            """,
            p,
            w,
        )
        return {
            "history": history,
            "unit_cost": unit_cost,
            "supplier_id": supplier_id,
            "rule_lead": rule_lead,
            "supplier": supplier,
            "on_hand": float(stock["on_hand"]) if stock else 0.0,
            "reserved": float(stock["reserved"]) if stock else 0.0,
            "on_order": float(on_order or 0),
        }

    data = await caller.run(read)
    forecast = handles.require("forecast")
    mean, sd, samples, source = await _lead_time(payload, data, forecast, now)
    holding = payload.holding_cost_per_unit_year
    if holding is None and data["unit_cost"]:
        holding = float(data["unit_cost"]) * DEFAULT_HOLDING_RATE
    options = {
        "lead_time_days": mean,
        "lead_time_sd_days": sd,
        "lead_time_samples_days": samples,
        "service_level": payload.service_level,
        "review_period_days": payload.review_period_days,
        "ordering_cost": payload.ordering_cost,
        "holding_cost_per_unit_year": holding,
        "min_order_quantity": payload.min_order_quantity,
        "on_hand": data["on_hand"],
        "reserved": data["reserved"],
        "on_order": data["on_order"],
        "start": _first_future(now, payload.freq),
    }
    result = await _call(forecast.inventory.remote(data["history"][["ds", "y"]], payload.freq, options))
    return InventoryPolicy(
        product_id=p, warehouse_id=w, supplier_id=data["supplier_id"], lead_time_source=source, **result
    )


class RunAccuracy(BaseModel):
    run_id: UUID
    version: int
    model_name: str
    points: int
    series: int
    mase: float | None
    backtest_mase: float | None
    bias: float | None = Field(description="sum(forecast - actual) / sum(actual): positive when forecasts run high")
    drift: bool
    reasons: list[str]


class AccuracyReport(BaseModel):
    model_name: str
    drift: bool = Field(description="the latest run with matured forecasts drifts")
    runs: list[RunAccuracy]


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
        from training.drift import matured_forecasts

        forecasts = await matured_forecasts(tx.conn, tx.tenant_id, model_name, freq, as_of=now, runs=runs)
        if forecasts.empty:
            return forecasts, forecasts, tx.tenant_id
        days = (now.replace(tzinfo=None) - forecasts["ds"].min()).days + 400
        actuals = await ledger.demand_history(tx.conn, freq=freq, as_of=now, lookback_days=days, active_only=False)
        return forecasts, actuals[["unique_id", "ds", "y"]], tx.tenant_id

    forecasts, actuals, tenant_id = await caller.run(read)
    if forecasts.empty:
        return AccuracyReport(model_name=model_name, drift=False, runs=[])
    scored = await _call(
        handles.require("forecast").accuracy.remote(forecasts, actuals, freq, str(tenant_id), model_name)
    )
    report = [RunAccuracy.model_validate(r) for r in scored]
    return AccuracyReport(model_name=model_name, drift=bool(report and report[0].drift), runs=report)


@router.get("/runs", response_model=list[RunInfo], summary="The model registry: recent runs of a forecast model")
async def runs(caller: CallerDep, freq: Freq = "D", limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[RunInfo]:
    async def read(tx: TenantTransaction) -> list[registry.RunRecord]:
        return await registry.list_runs(tx.conn, tx.tenant_id, registry.champion_key(freq), limit)

    return [_run_info(r) for r in await caller.run(read)]


async def _lead_time(
    payload: InventoryPolicyRequest, data: dict[str, Any], forecast: Any, now: datetime
) -> tuple[float, float, list[float] | None, str]:
    """Lead time mean, sd and observed samples in days, and where they came from."""
    if payload.lead_time_days is not None:
        sd = payload.lead_time_sd_days if payload.lead_time_sd_days is not None else 0.0
        return payload.lead_time_days, sd, None, "request"
    supplier: ledger.SupplierHistory | None = data["supplier"]
    if supplier is not None:
        nominal = data["rule_lead"] if data["rule_lead"] is not None else supplier.nominal_lead_time_days
        report = await _call(forecast.supply.remote(supplier.received, supplier.open_orders.iloc[:0], nominal, now))
        estimate = report["lead_time"]
        if estimate["mean_days"] is not None:
            samples = None
            if estimate["receipts"] >= 10:
                issued = pd.to_datetime(supplier.received["issued_at"], utc=True)
                received = pd.to_datetime(supplier.received["first_received_at"], utc=True)
                samples = [d for d in ((received - issued).dt.total_seconds() / 86_400).tolist() if d >= 0]
            return float(estimate["mean_days"]), float(estimate["sd_days"]), samples, f"supplier {estimate['basis']}"
    if data["rule_lead"] is not None:
        return float(data["rule_lead"]), 0.25 * float(data["rule_lead"]), None, "reorder rule (sd 25% assumed)"
    raise InvalidInputError(
        "no lead time known for this product and warehouse: pass lead_time_days or supplier_id, "
        "or set a reorder rule with a supplier",
        code="lead_time_unknown",
    )


async def _require_location(tx: TenantTransaction, product_id: UUID, warehouse_id: UUID) -> float | None:
    """404 unless both exist (and are visible to the caller); returns the product's unit cost."""
    product = await tx.conn.fetchrow("SELECT unit_cost FROM app.products WHERE id = $1", product_id)
    if product is None:
        raise NotFoundError(f"no product {product_id}", code="unknown_product")
    if await tx.conn.fetchval("SELECT 1 FROM app.warehouses WHERE id = $1", warehouse_id) is None:
        raise NotFoundError(f"no warehouse {warehouse_id}", code="unknown_warehouse")
    return float(product["unit_cost"]) if product["unit_cost"] is not None else None


async def _stored(
    tx: TenantTransaction,
    product_id: UUID,
    warehouse_id: UUID,
    freq: str,
    horizon: int,
    levels: list[float],
    now: datetime,
) -> DemandForecast | None:
    """The champion run's forecast of this series when it is fresh, long enough and has the quantiles."""
    run = await registry.champion(tx.conn, tx.tenant_id, registry.champion_key(freq))
    boundary = ledger.period_start(now, freq).tz_localize(UTC)
    if run is None or run.training_end is None or run.training_end < boundary or run.horizon < horizon:
        return None
    frame = await registry.stored_forecast(tx.conn, tx.tenant_id, run.id, product_id, warehouse_id)
    columns = {f"q{q:g}" for q in levels}
    if frame.empty or not columns <= set(frame.columns):
        return None
    frame = frame.head(horizon)
    model = str(frame["model"].iloc[0])
    mase = run.metrics.get("mase")
    return DemandForecast(
        product_id=product_id,
        warehouse_id=warehouse_id,
        freq=freq,
        horizon=horizon,
        source="stored",
        model=model,
        reason=(
            f"stored forecast of champion run v{run.version} ({run.model_type}, backtest MASE "
            f"{mase if mase is None else round(float(mase), 3)}), trained on data up to {run.training_end:%Y-%m-%d}: "
            "fresh, so not refitted (pass refresh=true to fit now)"
        ),
        history_length=0,
        backtest_mase=None,
        candidates=[],
        run=_run_info(run),
        points=[
            ForecastPoint(
                ds=row["ds"], yhat=float(row["yhat"]), quantiles={f"{q:g}": float(row[f"q{q:g}"]) for q in levels}
            )
            for _, row in frame.iterrows()
        ],
    )


def _trained_run(run: registry.RunRecord) -> TrainedRun:
    mase = run.metrics.get("mase")
    return TrainedRun(
        run_id=str(run.id), version=run.version, kind=run.model_type, artifact_uri=str(run.artifact_uri),
        freq=run.freq, horizon=run.horizon, holdout_mase=None if mase is None else float(mase),
    )  # fmt: skip


def _run_info(run: registry.RunRecord) -> RunInfo:
    return RunInfo(
        id=run.id,
        model_name=run.model_name,
        model_type=run.model_type,
        version=run.version,
        status=run.status,
        training_end=run.training_end,
        metrics=run.metrics,
        created_at=run.created_at,
    )


async def _call(response: Any) -> dict[str, Any]:
    """Await a ForecastService call; data the models cannot use becomes a 400, never a 500."""
    try:
        result: dict[str, Any] = await response
    except ForecastInputError as exc:
        # Through a handle this is Ray's dual-class error: its message is the cause's plus a traceback.
        cause = getattr(exc, "cause", exc)
        raise InvalidInputError(str(cause), code="unforecastable") from exc
    return result


def _first_future(now: datetime, freq: str) -> datetime:
    """The label of the current (first unobserved) period: the day, or the Sunday ending this week."""
    start = ledger.period_start(now, freq)
    return (start + pd.Timedelta(days=6 if freq == "W" else 0)).to_pydatetime()


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
    if not levels or len(levels) > MAX_QUANTILES or any(not 0 < q < 1 for q in levels):
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "quantiles"),
                    "msg": f"give 1 to {MAX_QUANTILES} comma-separated levels strictly between 0 and 1, got {text!r}",
                    "type": "invalid_quantiles",
                }
            ]
        )
    return levels
