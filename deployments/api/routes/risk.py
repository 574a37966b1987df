"""/ai/risk: supplier assessments and ranking, open-order disruption predictions, compliance, market risk,
per-tenant weights and history import.

Scoring, prediction and import run in the ``RiskService`` deployment (through its handle); weights and the
model's metadata are plain SQL and stay in this replica.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Body, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from common.errors import PayloadTooLargeError
from deployments.api.deps import CallerDep, ModelHandlesDep
from deployments.api.listing_params import CursorParam
from deployments.api.model_calls import call_for
from risk import repository
from risk.history_import import ImportOptions, parse_currency, parse_date_format, parse_mapping, parse_mode_mapping
from risk.model_info import ModelInfoOut

router = APIRouter(prefix="/ai/risk", tags=["risk"])

Band = Literal["low", "medium", "high"]
Share = Annotated[float, Field(ge=0, le=1)]


class Weights(BaseModel):
    """Shares of the overall score; each 0-1, summing to 1 (within 0.001)."""

    model_config = ConfigDict(extra="forbid")

    financial: Share
    operational: Share
    geographical: Share
    compliance: Share


class WeightsOut(BaseModel):
    weights: Weights
    is_default: bool
    updated_at: datetime | None
    updated_by: UUID | None


@router.get("/suppliers", summary="Suppliers ranked by overall risk (highest first)")
async def rank_suppliers(
    caller: CallerDep,
    handles: ModelHandlesDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    band: Annotated[Band | None, Query(description="only suppliers in this band")] = None,
) -> dict[str, Any]:
    return await call_for(caller, handles, "risk", "rank_suppliers", limit, band)


@router.get("/suppliers/{supplier_id}", summary="One supplier's risk assessment with its top factors")
async def assess_supplier(supplier_id: UUID, caller: CallerDep, handles: ModelHandlesDep) -> dict[str, Any]:
    """Components and overall score are 0 (no risk) to 100; ``confidence`` is low for suppliers with little or
    no delivery history (their operational score is then the population prior, not an error)."""
    return await call_for(caller, handles, "risk", "assess_supplier", supplier_id)


@router.get("/suppliers/{supplier_id}/compliance", summary="A supplier's certifications, audits and status")
async def supplier_compliance(supplier_id: UUID, caller: CallerDep, handles: ModelHandlesDep) -> dict[str, Any]:
    return await call_for(caller, handles, "risk", "supplier_compliance", supplier_id)


@router.get("/compliance", summary="The tenant's compliance report")
async def compliance_report(
    caller: CallerDep,
    handles: ModelHandlesDep,
    window_days: Annotated[int, Query(ge=1, le=365, description="warn about expiries this far ahead")] = 60,
) -> dict[str, Any]:
    return await call_for(caller, handles, "risk", "compliance_report", window_days)


@router.get("/purchase-orders", summary="Open purchase orders by probability of arriving late, with explanations")
async def order_predictions(
    caller: CallerDep,
    handles: ModelHandlesDep,
    min_probability: Annotated[float, Query(ge=0, le=1)] = 0.0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Each order's probability is its most at-risk open line's; each line lists the features that moved its
    prediction most (xgboost SHAP contributions, log-odds). ``model`` is ``/model``'s answer: which scorer serves
    (without a trained model, or one that did not beat it, the supplier's historical late rate), its held-out
    figures, and its ``calibration`` (null for a raw late rate)."""
    return await call_for(caller, handles, "risk", "order_predictions", min_probability, limit)


@router.get("/market", summary="Price volatility, trend and shocks per product; flags on unusual new prices")
async def market_risk(
    caller: CallerDep,
    handles: ModelHandlesDep,
    product_id: Annotated[UUID | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="series (product and currency) per page")] = 100,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """One series per product and currency, shocks first, then the most volatile, ``limit`` a page (100 unless
    given, at most 500); ``price_flags`` are the flags on the open order lines of this page's series. ``total``
    counts every series; pass ``next_cursor`` back as ``cursor`` for the next page (``null`` on the last)."""
    return await call_for(caller, handles, "risk", "market_risk", product_id, limit, cursor)


@router.get("/weights", response_model=WeightsOut, summary="The tenant's score weights (defaults until set)")
async def get_weights(caller: CallerDep) -> dict[str, Any]:
    return await caller.run(lambda tx: repository.get_weights(tx.conn))


@router.put("/weights", response_model=WeightsOut, summary="Set the tenant's score weights")
async def put_weights(weights: Annotated[Weights, Body()], caller: CallerDep) -> dict[str, Any]:
    return await caller.run(
        lambda tx: repository.put_weights(tx.conn, tx.tenant_id, tx.user_id, weights.model_dump()), write=True
    )


@router.get(
    "/model",
    response_model=ModelInfoOut,
    summary="Which scorer scores the orders (the disruption model or the baseline) and why, with its metrics",
)
async def current_model(caller: CallerDep, handles: ModelHandlesDep) -> dict[str, Any]:
    """``held_out``: the serving scorer's own figures on lines it was not fitted on; ``calibration`` is null when
    it serves raw late rates (the supplier-late-rate baseline or the supplier x mode rate)."""
    # Through the RiskService, whose model store decides what /purchase-orders serves: the registry's champion
    # alone claimed the model served when it was of an earlier feature set and the baseline did.
    return await call_for(caller, handles, "risk", "current_model")


@router.post("/history/import", summary="Import delivery history from CSV; reports each rejected row")
async def import_history(
    request: Request,
    caller: CallerDep,
    handles: ModelHandlesDep,
    file: Annotated[UploadFile, File(description="CSV with the documented columns (see risk/history_import.py)")],
    mapping: Annotated[
        str | None, Form(description="rename headers: column=header,column=header", max_length=2000)
    ] = None,
    date_format: Annotated[
        str | None, Form(max_length=32, description="strptime format of the dates (default: detected)")
    ] = None,
    mode_mapping: Annotated[
        str | None, Form(description="the export's shipment modes: name=mode,... (e.g. Boat=sea)", max_length=2000)
    ] = None,
    create_suppliers: Annotated[bool, Form(description="create suppliers the file names but we lack")] = False,
    dry_run: Annotated[bool, Form(description="validate and report without importing")] = False,
    currency: Annotated[
        str | None, Form(max_length=16, description="ISO 4217 code of the values where a row names none (EUR)")
    ] = None,
) -> dict[str, Any]:
    """Columns: supplier (or supplier_code / supplier_name), order_date, promised_date, quantity, value (required);
    country (ISO code or name), product, category, shipment_mode (synonyms such as truck, ocean, air charter are
    understood), delivered_date, quantity_received, quantity_rejected, reference (optional)."""
    handles.require("risk")  # 503 before the upload is read when the risk service is not deployed
    checked_date_format = parse_date_format(date_format)  # 400 before the upload is read
    limit = request.app.state.settings.risk_import_max_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLargeError(f"the file exceeds the import limit of {limit} bytes", details={"max_bytes": limit})
    options = ImportOptions(
        parse_mapping(mapping),
        checked_date_format,
        create_suppliers,
        dry_run,
        parse_mode_mapping(mode_mapping),
        parse_currency(currency),
    )
    return await call_for(caller, handles, "risk", "import_history", data, options)
