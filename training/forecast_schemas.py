"""The forecast API's contract: what `/ai/forecast` answers, next to the planning code that produces it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from inventory.schemas import LARGEST_PRICE, LARGEST_QUANTITY, Currency, StrictModel
from training.registry import RunRecord
from training.supply import LeadTimeDistribution

Freq = Literal["D", "W"]


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

    @classmethod
    def from_record(cls, run: RunRecord) -> RunInfo:
        return cls.model_validate(run, from_attributes=True)


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
    backtest_mase: float | None = Field(
        description="this series' own error: the chosen model's backtest MASE (source fitted); the Ray Train "
        "champion's MASE on this series' held-out last steps, one origin (source trained, which serves only the "
        "series its run was trained on; null where that series' error could not be computed); null for source "
        "stored (the run's mean is in reason and run.metrics)"
    )
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
    seasonal_profile: dict[str, float] = Field(
        description="mean seasonal effect of the decomposed period by calendar position: weekday 0 = Monday ... "
        "6 = Sunday for period 7 of daily data, ISO week 1-53 for period 52 of weekly data, day of the year 1-366 "
        "for period 365 of daily data"
    )
    peak_weeks: list[int]
    components: dict[str, list[Any]] = Field(description="ds, observed, trend, seasonal, resid: parallel lists")
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
    # Bounded by what the price and quantity columns keep (inventory.schemas), so the figures stay finite.
    ordering_cost: float | None = Field(
        default=None, ge=0, le=float(LARGEST_PRICE), description="cost per order; enables the EOQ"
    )
    holding_cost_per_unit_year: float | None = Field(
        default=None, gt=0, le=float(LARGEST_PRICE), description="default 25% of unit cost"
    )
    cost_currency: Currency | None = Field(
        default=None,
        description="what ordering_cost (and holding_cost_per_unit_year) are in; default: the unit cost's currency",
    )
    min_order_quantity: float = Field(default=0, ge=0, le=float(LARGEST_QUANTITY))
    clip_outliers: bool = Field(default=True, description="clip bulk or mistyped periods before fitting")
    # At least the finest a stored quantity keeps (four decimals), as a rule's: until 2026-12-08 1e-27 was taken,
    # and rounding the order to it was a 500.
    order_multiple: float | None = Field(
        default=None,
        ge=0.0001,
        le=float(LARGEST_QUANTITY),
        description="default: the location's active reorder rule's; at least 0.0001",
    )


class InventoryPolicy(BaseModel):
    product_id: UUID
    warehouse_id: UUID
    supplier_id: UUID | None
    lead_time_source: str
    holding_cost_per_unit_year: float | None = Field(description="what the EOQ weighs against the ordering cost")
    cost_currency: str | None = Field(description="what both costs are in; null: the caller's, unnamed")
    holding_cost_source: str | None = Field(description="given, or the share of the unit cost it was taken as")
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
    demand_outliers: dict[str, Any] | None = Field(
        description="periods of demand clipped before fitting (periods_clipped, ceiling, largest, rule): single "
        "periods above both 10 x and median + 5 x spread (MAD as sigma) of the periods with demand within 14 periods "
        "either side, clipped to the latter; intermittent series are never clipped; null: none"
    )
    order_quantity_basis: str = Field(
        description="what policy.order_quantity rests on: the EOQ when ordering_cost is given, otherwise the demand "
        "over the review period and at least over 7 days (the default cover, whatever freq); and min_order_quantity"
    )
    order_multiple: float | None = Field(
        description="what order_now and policy.order_quantity are rounded up to (policy.eoq is not): the request's, "
        "else the active reorder rule's, as a reorder proposal rounds; for a count unit a whole number of items, at "
        "least one: a unit of category 'unit' in app.units_of_measure steps by the fewest whole items a four-decimal "
        "quantity holds exactly (1/1000 of a thousand, a quarter dozen: 1/12 has no four-decimal figure), a code "
        "the catalogue lacks by 1 if it is a known count word (box, case, pallet ...); null: a "
        "measured unit without a multiple, not rounded"
    )
    order_now_note: str | None = Field(
        default=None,
        description="why order_now is 0 whatever the position: the product or warehouse is deactivated (the policy "
        "is still computed); null: nothing withheld",
    )


class RunAccuracy(BaseModel):
    run_id: UUID
    version: int
    model_name: str
    points: int = Field(description="matured forecasts scored: series x dates")
    periods: int = Field(description="matured dates; a run with fewer than 7 is never flagged")
    series: int
    mase: float | None
    backtest_mase: float | None
    bias: float | None = Field(description="sum(forecast - actual) / sum(actual): positive when forecasts run high")
    drift: bool
    reasons: list[str]


class AccuracyReport(BaseModel):
    model_name: str
    drift: bool = Field(description="the newest run with at least 7 matured periods drifts")
    runs: list[RunAccuracy]
