"""What the forecast service computes for a planner, as plain functions over frames.

One entry point per question: a demand forecast with intervals (``forecast_demand``), seasonal
analysis (``seasonal_report``), supplier lead times (``supply_report``; these two live in
``training.planning_reports``) and stock targets (``inventory_report``). Each returns JSON-ready dicts
and says which model answered and why, including every documented fallback:

- no demand history, or only zeros: a zero forecast (model ``zero``), intervals collapse to zero;
- a series too short for a combination (fewer than 7 observations, AutoETS's own minimum): ``naive``
  (or Croston SBA when intermittent), per ``training.selection.AutoForecaster``;
- otherwise the equal-weight combination (``ensemble``) of the statistical candidates, by default their
  median; the panel's rolling-origin backtest may choose one of a few fixed alternatives (mean, one
  member left out, the mean of AutoETS and Theta); a candidate that beat that combination by 20% in
  every backtest window leans its series' forecast (shares inverse to each one's squared backtest
  error; the note gives them) but does not replace the combination.

The same ``auto_forecaster`` factory serves the API (``fast`` profile) and the batch job and CLI
(``full``). Both combine AutoETS, dynamic Theta and AutoCES and decide on two backtest windows; ``full`` adds
the global xgboost, which joins only on panels of 20+ series of 200+ steps (so on short panels the
two profiles compute the same thing). What ``fast`` gives up is measured by ``bench/forecast_competition.py
--profile both``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd

from inventory.lot_size import DEFAULT_COVER_DAYS, lot_size_basis
from inventory.optimisation import Costs, LeadTime, plan_policy, quantity_to_order, units_per_cycle
from inventory.order_rounding import round_up_to_step
from inventory.simulation import simulate_service_level
from training.assumed_spread import assume_spread_of_constant_short_histories
from training.demand_outliers import clip_demand_outliers
from training.demand_rate import demand_rate_from_forecast
from training.errors import ForecastInputError
from training.frequency import default_horizon
from training.models.base import POINT_COLUMN
from training.models.gradient_boosted import GradientBoostedForecaster
from training.models.statistical import StatisticalForecaster
from training.planning_reports import seasonal_report as seasonal_report
from training.planning_reports import supply_report as supply_report
from training.selection import INTERMITTENT_CANDIDATES, AutoForecaster, ModelFactory
from training.validation import quantile_column, validate_quantiles

Profile = Literal["fast", "full"]
DEFAULT_QUANTILES = (0.1, 0.5, 0.9)
# Days in one period of each ledger frequency (lead times are kept in days).
PERIOD_DAYS = {"D": 1.0, "W": 7.0}

# Long histories are cut to their most recent observations: the statistical fits cost grows with the
# length, and ten seasons of hourly or weekly data say what the next horizon needs.
MAX_HISTORY = 520
FAST_CANDIDATES: dict[str, ModelFactory] = {
    "auto_ets": lambda: StatisticalForecaster("auto_ets", max_history=MAX_HISTORY),
    "dynamic_theta": lambda: StatisticalForecaster("dynamic_theta", max_history=MAX_HISTORY),
    "auto_ces": lambda: StatisticalForecaster("auto_ces", max_history=MAX_HISTORY),
    "seasonal_naive": lambda: StatisticalForecaster("seasonal_naive"),
}
# The budgeted AutoARIMA ("arima") is not in either profile: on the M1 validation windows it was
# the worst single model on quarterly and monthly data, and a panel that kept it in its pool lost
# 7% sMAPE on monthly validation (mean of AutoETS, AutoCES, ARIMA 17.94 vs 16.70 without ARIMA).
FULL_CANDIDATES: dict[str, ModelFactory] = {
    **FAST_CANDIDATES,
    "xgboost": lambda: GradientBoostedForecaster(n_estimators=200, max_rows_per_series=730),
}
# Backtest windows per profile. Three origins (half a horizon apart) were tried for ``full`` and
# chose worse pools on M1 quarterly and monthly validation (15.11 and 17.16 sMAPE vs 14.98 and
# 16.70 with two): the older origins speak less for the next horizon.
WINDOWS = {"fast": 2, "full": 2}


def auto_forecaster(freq: str, horizon: int, profile: Profile = "fast") -> AutoForecaster:
    """The selection the service, the batch job and the CLI share.

    Backtest windows are the frequency's usual horizon (14 days, 13 weeks, 48 hours ...) or the
    requested one if shorter, so that a year of history can still be backtested for a long horizon;
    origins are half a window apart.
    """
    candidates = FAST_CANDIDATES if profile == "fast" else FULL_CANDIDATES
    backtest = min(horizon, default_horizon(freq))
    return AutoForecaster(
        candidates,
        INTERMITTENT_CANDIDATES,
        horizon=backtest,
        n_windows=WINDOWS[profile],
        metric="mase",
        rule="median",
        margin=0.2,
    )


@dataclass
class ForecastOutcome:
    """One or more series' forecasts with the model chosen for each and the reason."""

    forecast: pd.DataFrame  # unique_id, ds, yhat, q..., model
    selection: pd.DataFrame  # unique_id, model, error, note
    candidates: pd.DataFrame | None  # unique_id, model, mase ... (backtest scores)
    notes: list[str] = field(default_factory=list)


def forecast_panel(
    history: pd.DataFrame,
    freq: str,
    horizon: int,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    profile: Profile = "fast",
    *,
    future: pd.DataFrame | None = None,
) -> ForecastOutcome:
    """Forecast every series of ``history`` (``unique_id, ds, y``), all-zero ones without fitting.

    Further columns of ``history`` are covariates; ``future`` must then hold their values over the
    horizon (``unique_id, ds`` and the same columns).
    """
    levels = validate_quantiles(quantiles)
    if horizon <= 0:
        raise ForecastInputError(f"horizon must be a positive integer, got {horizon}")
    frame = history
    zero_ids = frame.groupby("unique_id")["y"].apply(lambda y: bool(np.all(y.to_numpy() == 0)))
    zero = frame[frame["unique_id"].isin(zero_ids[zero_ids].index)]
    rest = frame[~frame["unique_id"].isin(zero_ids[zero_ids].index)]
    forecasts, selections, scores = [], [], None
    if not zero.empty:
        forecasts.append(zero_forecast(zero, freq, horizon, levels))
        lengths = zero.groupby("unique_id").size()
        selections.append(
            pd.DataFrame(
                {
                    "unique_id": lengths.index,
                    "model": "zero",
                    "error": np.nan,
                    "note": [f"fallback: no demand in {n} periods, forecasting zero" for n in lengths],
                }
            )
        )
    if not rest.empty:
        model = auto_forecaster(freq, horizon, profile).fit(rest, freq)
        assert model.selection_ is not None and model.weights_ is not None
        predicted = model.predict(horizon, levels, future)
        # A series that never went negative (demand) is not forecast negative: clip point and quantiles.
        non_negative = rest.groupby("unique_id")["y"].min() >= 0
        rows = predicted["unique_id"].map(non_negative).fillna(False).to_numpy(dtype=bool)
        value_columns = [POINT_COLUMN, *(quantile_column(q) for q in levels)]
        predicted.loc[rows, value_columns] = predicted.loc[rows, value_columns].clip(lower=0.0)
        short = model.min_combination_length
        selections.append(assume_spread_of_constant_short_histories(predicted, model.selection_, rest, levels, short))
        chosen = model.selection_.set_index("unique_id")["model"]
        forecasts.append(predicted.assign(model=predicted["unique_id"].map(chosen)))
        scores = model.backtest_scores_
    return ForecastOutcome(
        forecast=pd.concat(forecasts, ignore_index=True),
        selection=pd.concat(selections, ignore_index=True),
        candidates=scores,
    )


def zero_forecast(history: pd.DataFrame, freq: str, horizon: int, levels: Sequence[float]) -> pd.DataFrame:
    from training.validation import future_dates

    out = future_dates(history, horizon, freq)
    out[POINT_COLUMN] = 0.0
    for q in levels:
        out[quantile_column(q)] = 0.0
    return out.assign(model="zero")


def forecast_demand(
    history: pd.DataFrame,
    freq: str,
    horizon: int,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    *,
    start: datetime | None = None,
) -> dict[str, Any]:
    """One series' forecast (``ds, y`` history) as a response: points, model, reason, backtest table.

    With no history at all, the forecast starts at ``start`` (the first period after the history
    window) and is zero.
    """
    levels = validate_quantiles(quantiles)
    if history.empty:
        if start is None:
            raise ForecastInputError("no history and no start date to forecast from")
        seed = pd.DataFrame({"unique_id": ["series"], "ds": [pd.Timestamp(start) - _step(freq)], "y": [0.0]})
        frame = zero_forecast(seed, freq, horizon, levels)
        return _response(frame, levels, "zero", "fallback: no demand history at this location, forecasting zero", 0)
    series = history.assign(unique_id="series")[["unique_id", "ds", "y"]]
    outcome = forecast_panel(series, freq, horizon, levels, profile="fast")
    row = outcome.selection.iloc[0]
    table = None
    if outcome.candidates is not None:
        table = [
            {"model": str(r["model"]), "mase": _num(r["mase"]), "smape": _num(r["smape"]), "bias": _num(r["bias"])}
            for _, r in outcome.candidates.sort_values("mase").iterrows()
        ]
    reason = str(row["note"])
    return _response(outcome.forecast, levels, str(row["model"]), reason, len(history), table, _num(row["error"]))


def _response(
    frame: pd.DataFrame,
    levels: Sequence[float],
    model: str,
    reason: str,
    length: int,
    candidates: list[dict[str, Any]] | None = None,
    error: float | None = None,
) -> dict[str, Any]:
    points = [
        {
            "ds": pd.Timestamp(r["ds"]).isoformat(),
            "yhat": float(r[POINT_COLUMN]),
            "quantiles": {f"{q:g}": float(r[quantile_column(q)]) for q in levels},
        }
        for _, r in frame.sort_values("ds").iterrows()
    ]
    return {
        "model": model,
        "reason": reason,
        "history_length": length,
        "backtest_mase": error,
        "candidates": candidates or [],
        "points": points,
    }


def inventory_report(
    history: pd.DataFrame,
    freq: str,
    *,
    lead_time_days: float,
    lead_time_sd_days: float,
    lead_time_samples_days: Sequence[float] | None,
    service_level: float,
    review_period_days: float = 0.0,
    ordering_cost: float | None = None,
    holding_cost_per_unit_year: float | None = None,
    min_order_quantity: float = 0.0,
    order_step: float | None = None,
    clip_outliers: bool = True,
    on_hand: float = 0.0,
    reserved: float = 0.0,
    on_order: float = 0.0,
    start: datetime | None = None,
) -> dict[str, Any]:
    """Stock targets from the demand forecast and the lead time, checked by simulation.

    Demand per period is the forecast's mean over the protection interval (lead time + review
    period) and its one-step uncertainty from the 10%/90% quantiles. The simulation (gamma demand
    and lead time, or the observed lead times bootstrapped) checks the cycle service level; when the
    normal approximation falls short, ``recommended_reorder_point`` is the simulated one. The current
    inventory position (on hand - reserved + on order) says whether to order now and how much.
    """
    history, outliers = clip_demand_outliers(history) if clip_outliers else (history, None)
    period = PERIOD_DAYS[freq]
    lead = LeadTime(mean=lead_time_days / period, sd=lead_time_sd_days / period)
    review = review_period_days / period
    horizon = max(2, math.ceil(lead.mean + review + 3 * lead.sd) + 1)
    forecast = forecast_demand(history, freq, horizon, DEFAULT_QUANTILES, start=start)
    frame = pd.DataFrame(
        {
            "ds": [p["ds"] for p in forecast["points"]],
            POINT_COLUMN: [p["yhat"] for p in forecast["points"]],
            **{quantile_column(q): [p["quantiles"][f"{q:g}"] for p in forecast["points"]] for q in DEFAULT_QUANTILES},
        }
    )
    history_sd = float(history["y"].std(ddof=1)) if len(history) > 1 else None
    demand, sd_source = demand_rate_from_forecast(frame, lead.mean + review, history_sd=history_sd)
    costs = None
    if ordering_cost is not None and holding_cost_per_unit_year is not None:
        costs = Costs(ordering=ordering_cost, holding_per_period=holding_cost_per_unit_year * period / 365.0)
    policy = plan_policy(
        demand, lead, service_level, review_periods=review, costs=costs, min_order_quantity=min_order_quantity,
        cover_periods=DEFAULT_COVER_DAYS / period,
    )  # fmt: skip
    # What can be ordered (inventory.order_rounding), before the simulation, so it checks the cycles ordered.
    policy = replace(policy, order_quantity=round_up_to_step(policy.order_quantity, order_step))
    samples = [d / period for d in lead_time_samples_days] if lead_time_samples_days else None
    # Periodic review orders up to S, which must cover the lead time and the review period: that is what is
    # simulated (the reorder point against lead-time demand alone passed whatever S was).
    protected = policy.order_up_to if review > 0 else policy.reorder_point
    simulation = simulate_service_level(
        protected,
        demand,
        lead,
        service_level,
        lead_time_samples=samples,
        order_quantity=units_per_cycle(policy),
        review_periods=review,
    )
    level = protected if simulation.meets_target else simulation.simulated_reorder_point
    recommended = level - demand.mean * review  # with a review period, the position one review's demand below S
    position = on_hand - reserved + on_order
    order_now = round_up_to_step(
        quantity_to_order(
            position,
            reorder_point=recommended,
            order_quantity=policy.order_quantity,
            order_up_to=level if review > 0 else None,
            min_order_quantity=min_order_quantity,
            demand_per_period=demand.mean,
        ),
        order_step,
    )
    interval = "lead time and review period" if review > 0 else "lead time"
    return {
        "forecast_model": forecast["model"],
        "forecast_reason": forecast["reason"],
        "demand_per_period": demand.mean,
        "demand_sd_per_period": demand.sd,
        "demand_sd_source": sd_source,
        "period_days": period,
        "policy": policy.as_dict(),
        "simulation": simulation.as_dict(),
        "recommended_reorder_point": recommended,
        "recommendation_basis": (
            f"normal approximation (simulation confirms the service level over the {interval})"
            if simulation.meets_target
            else f"simulated quantile of demand over the {interval} (the normal approximation falls short under skew)"
        ),
        "inventory_position": position,
        "order_now": order_now,
        "order_multiple": order_step,
        "order_quantity_basis": lot_size_basis(policy, review_period_days, min_order_quantity),
        "demand_outliers": outliers,
    }


def _step(freq: str) -> pd.Timedelta:
    return pd.Timedelta(days=PERIOD_DAYS[freq])


def _num(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
