"""``GET /exports/forecast.pdf`` and ``GET /exports/supplier-risk.{pdf,xlsx}``: reports with charts.

Mounted before the dataset exports' ``/exports/{name}``. The forecast report asks the forecast routes
themselves for each series (``demand_forecast`` with the 2.5/10/50/90/97.5% quantiles, or 10/50/90% when the
champion's fresh stored forecast holds only those, and ``inventory_policy``), so every figure it prints is what
those endpoints answer; it only adds the selection of series, the stock-out ranking and the layout. The
supplier risk report reads the same ranking and compliance functions as ``/ai/risk`` in one transaction.

A report takes one of the caller's export slots (``EXPORTS_PER_USER``, shared with the dataset exports) for
as long as it is built: beyond them the caller gets 429 ``too_many_exports``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

import pandas as pd
from fastapi import APIRouter, Query
from fastapi.responses import Response

from common.database import TenantTransaction
from common.errors import InvalidInputError
from deployments.api.deps import CallerDep, ModelHandlesDep, SettingsDep
from deployments.api.routes import forecast as forecast_routes
from inventory import members
from inventory.exports.slots import claim_export_slot
from reports.forecast import (
    BAND_80_PARAM,
    BAND_80_QUANTILES,
    INTERVAL_QUANTILES,
    QUANTILES_PARAM,
    SeriesForecast,
    render_forecast_report,
)
from reports.forecast_series import MAX_SERIES, SeriesRef, recent_demand, select_series
from reports.supplier_risk import render_supplier_risk_pdf
from reports.supplier_risk_data import gather
from reports.supplier_risk_xlsx import render_supplier_risk_xlsx
from training import history as ledger
from training.frequency import BATCH_HORIZON, MAX_HORIZON
from training.stored_forecast import fresh_stored_forecast

router = APIRouter(prefix="/exports", tags=["exports"])

PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BandQuery = Annotated[Literal["low", "medium", "high"] | None, Query(description="only suppliers in this band")]
WindowQuery = Annotated[int, Query(ge=1, le=365, description="certificates expiring this far ahead")]


@router.get(
    "/forecast.pdf",
    response_class=Response,
    responses={200: {"content": {PDF: {}}}},
    summary="Demand forecast report: stock-out summary, then per series a chart with 80%/95% intervals",
)
async def forecast_report(
    caller: CallerDep,
    handles: ModelHandlesDep,
    settings: SettingsDep,
    product_id: Annotated[list[UUID] | None, Query(max_length=MAX_SERIES)] = None,
    warehouse_id: Annotated[list[UUID] | None, Query(max_length=50)] = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    freq: Literal["D", "W"] = "D",
    horizon: Annotated[
        int | None, Query(ge=1, description="periods ahead (up to 366 daily, 104 weekly); default 28 daily, 13 weekly")
    ] = None,
    service_level: Annotated[float, Query(ge=0.5, le=0.9999)] = 0.95,
) -> Response:
    """Series: the stocked product x warehouse pairs matching ``product_id`` (repeatable), ``warehouse_id``
    (repeatable) and ``category``, at most 12 (400 ``report_too_large`` beyond). Each series costs two model
    fits: expect seconds per series."""
    # /ai/forecast/demand's default, the batch's: until 2026-12-07 a weekly report asked 28 weeks, longer than the
    # weekly champion stores, and refitted every series.
    horizon = BATCH_HORIZON[freq] if horizon is None else horizon
    if horizon > MAX_HORIZON[freq]:
        raise InvalidInputError(
            f"horizon must be between 1 and {MAX_HORIZON[freq]} periods for freq {freq!r}, got {horizon}",
            code="horizon_out_of_range",
        )
    now = datetime.now(UTC)
    async with _export_slot(caller, settings) as slot:
        generated = now.astimezone(await members.zone_for(slot.conn, slot.user_id))  # the reader's clock
        refs = await select_series(slot.conn, product_id or [], warehouse_id or [], category)
        histories = [await recent_demand(slot.conn, ref, freq, now) for ref in refs]
        tenant = await _tenant_name(slot)
        items = []
        for ref, history in zip(refs, histories, strict=True):
            levels = await _report_quantiles(slot, ref, freq, horizon, now)
            items.append(await _series_forecast(caller, handles, ref, history, horizon, freq, service_level, levels))
            await _keep_alive(slot)
        filter_text = _forecast_filter(refs, product_id, warehouse_id, category, freq)
        body = await asyncio.to_thread(
            render_forecast_report, tenant, generated, filter_text, freq, horizon, service_level, items
        )
    return _attachment(body, PDF, f"forecast-{now:%Y%m%d-%H%M%S}.pdf")


def _supplier_risk_route(kind: Literal["pdf", "xlsx"], media_type: str, summary: str) -> None:
    """``GET /exports/supplier-risk.<kind>``: the same data and filters, as a PDF report or as a workbook."""

    @router.get(
        f"/supplier-risk.{kind}",
        response_class=Response,
        responses={200: {"content": {media_type: {}}}},
        summary=summary,
        name=f"supplier_risk_{kind}",
    )
    async def supplier_risk(
        caller: CallerDep, settings: SettingsDep, band: BandQuery = None, window_days: WindowQuery = 60
    ) -> Response:
        return await _supplier_risk_report(caller, settings, band, window_days, kind)


_supplier_risk_route(
    "pdf", PDF, "Supplier risk report: ranking with component breakdown, drivers, late-delivery trend, certificates"
)
_supplier_risk_route(
    "xlsx", XLSX, "The supplier risk report's data as a workbook: ranking, drivers, late deliveries, certifications"
)


async def _supplier_risk_report(
    caller: CallerDep, settings: SettingsDep, band: str | None, window_days: int, kind: Literal["pdf", "xlsx"]
) -> Response:
    now = datetime.now(UTC)
    async with _export_slot(caller, settings) as slot:
        tenant = await _tenant_name(slot)
        generated = now.astimezone(await members.zone_for(slot.conn, slot.user_id))  # the reader's clock
        # The caller's date, as the RiskService uses for /ai/risk: the same day, the same scores (window_days only
        # selects the certificates the report lists; the scores keep their own 60 days).
        data = await gather(slot, await members.today_for(slot.conn, slot.user_id), band, window_days)
        if kind == "pdf":
            filter_text = _risk_filter(band, window_days)
            body = await asyncio.to_thread(render_supplier_risk_pdf, tenant, generated, filter_text, data)
        else:
            body = await asyncio.to_thread(render_supplier_risk_xlsx, tenant, generated, data)
    return _attachment(body, PDF if kind == "pdf" else XLSX, f"supplier-risk-{now:%Y%m%d-%H%M%S}.{kind}")


@asynccontextmanager
async def _export_slot(caller: CallerDep, settings: SettingsDep) -> AsyncIterator[TenantTransaction]:
    """A read transaction holding one of the caller's export slots until the report is built."""
    async with caller.services.database.tenant_transaction(caller.claims.raw, caller.requested_tenant) as tx:
        await claim_export_slot(tx.conn, tx.user_id, settings.exports_per_user)
        yield tx


async def _keep_alive(tx: TenantTransaction) -> None:
    """The slot's transaction waits while the models fit; a statement per series keeps the server's idle
    in-transaction timeout (which would end it and free the slot) from counting the whole report."""
    await tx.conn.execute("SELECT 1")


async def _report_quantiles(
    tx: TenantTransaction, ref: SeriesRef, freq: Literal["D", "W"], horizon: int, now: datetime
) -> str:
    """The report's quantiles, or the 80% interval's alone when the champion's fresh stored forecast of the series
    holds only those: /ai/forecast/demand serves that forecast, and the report prints it rather than a refit."""
    period = await ledger.current_period(tx.conn, now, freq)

    async def stored(levels: tuple[float, ...]) -> bool:
        found = await fresh_stored_forecast(
            tx.conn, tx.tenant_id, ref.product_id, ref.warehouse_id, freq, horizon, list(levels), period
        )
        return found is not None

    if not await stored(INTERVAL_QUANTILES) and await stored(BAND_80_QUANTILES):
        return BAND_80_PARAM
    return QUANTILES_PARAM


async def _series_forecast(
    caller: CallerDep,
    handles: ModelHandlesDep,
    ref: SeriesRef,
    history: pd.DataFrame,
    horizon: int,
    freq: Literal["D", "W"],
    service_level: float,
    quantiles: str,
) -> SeriesForecast:
    demand = await forecast_routes.demand_forecast(
        caller, handles, ref.product_id, ref.warehouse_id, horizon, freq, quantiles, False
    )
    policy, note = None, None
    try:
        answer = await forecast_routes.inventory_policy(
            forecast_routes.InventoryPolicyRequest(
                product_id=ref.product_id, warehouse_id=ref.warehouse_id, freq=freq, service_level=service_level
            ),
            caller,
            handles,
        )
        policy = answer.model_dump(mode="json")
    except InvalidInputError as exc:  # no lead time known, or history the models cannot use: said in the report
        note = f"not computed: {exc.message}"
    return SeriesForecast(ref, history, demand.model_dump(mode="json"), policy, note)


async def _tenant_name(tx: TenantTransaction) -> str:
    return str(await tx.conn.fetchval("SELECT name FROM app.tenants WHERE id = $1", tx.tenant_id) or "?")


def _forecast_filter(
    refs: list[SeriesRef],
    product_ids: list[UUID] | None,
    warehouse_ids: list[UUID] | None,
    category: str | None,
    freq: str,
) -> str:
    skus = {r.product_id: r.sku for r in refs}
    codes = {r.warehouse_id: r.warehouse_code for r in refs}
    parts = []
    if product_ids:
        parts.append("Product = " + ", ".join(skus.get(p, str(p)) for p in product_ids))
    if warehouse_ids:
        parts.append("Warehouse = " + ", ".join(codes.get(w, str(w)) for w in warehouse_ids))
    if category:
        parts.append(f"Category = {category}")
    parts.append("daily" if freq == "D" else "weekly")
    return "; ".join(parts) if len(parts) > 1 else f"all stocked series; {parts[0]}"


def _risk_filter(band: str | None, window_days: int) -> str:
    return f"{'Band = ' + band if band else 'all active suppliers'}; certificates expiring within {window_days} days"


def _attachment(body: bytes, media_type: str, filename: str) -> Response:
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
