"""Purchase orders, their life cycle and receipts; units of measure and per-product conversions."""

from decimal import Decimal
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Path
from fastapi.responses import JSONResponse, Response

from common.database import TenantTransaction
from deployments.api.deps import CallerDep, SettingsDep
from deployments.api.idempotent import IdempotentDep
from deployments.api.list_route import add_list_route
from inventory import purchasing, uom
from inventory.purchasing_schemas import (
    PurchaseOrder,
    PurchaseOrderCreate,
    PurchaseOrderLineCreate,
    PurchaseOrderSummary,
    PurchaseOrderUpdate,
    PurchaseReceipt,
    PurchaseReceiptCreate,
    PurchaseReceiptResult,
    UnitOfMeasureOut,
    UomConversion,
    UomConversionSet,
)

router = APIRouter(prefix="/purchase-orders", tags=["purchase orders"])
units_router = APIRouter(tags=["units of measure"])
UnitParam = Annotated[str, Path(min_length=1, max_length=16, pattern=r"^[a-z][a-z0-9_]*$")]


@router.post("", status_code=201, response_model=PurchaseOrder, summary="Create a draft purchase order")
async def create_purchase_order(
    payload: Annotated[PurchaseOrderCreate, Body()], write: IdempotentDep, settings: SettingsDep
) -> JSONResponse:
    tolerance = Decimal(str(settings.purchase_over_receipt_tolerance_pct))

    async def op(tx: TenantTransaction) -> PurchaseOrder:
        created = await purchasing.create_order(
            tx.conn, tx.tenant_id, tx.user_id, payload, default_tolerance_pct=tolerance
        )
        return PurchaseOrder.model_validate(created)

    # A retry after a lost answer (a 503 around the commit) with its key gets the first order, not a second draft.
    return await write.run(payload, op, status_code=201)


add_list_route(router, "", purchasing.ORDERS, PurchaseOrderSummary, purchasing.list_orders, "List purchase orders")


@router.get("/{order_id}", response_model=PurchaseOrder, summary="A purchase order with its lines and backorder")
async def get_purchase_order(order_id: UUID, caller: CallerDep) -> PurchaseOrder:
    return PurchaseOrder.model_validate(await caller.run(lambda tx: purchasing.get_order(tx.conn, order_id)))


@router.patch("/{order_id}", response_model=PurchaseOrder, summary="Change a draft's header")
async def update_purchase_order(
    order_id: UUID, changes: Annotated[PurchaseOrderUpdate, Body()], caller: CallerDep
) -> PurchaseOrder:
    return PurchaseOrder.model_validate(
        await caller.run(lambda tx: purchasing.update_order(tx.conn, order_id, changes), write=True)
    )


@router.post("/{order_id}/lines", status_code=201, response_model=PurchaseOrder, summary="Add a line to a draft")
async def add_purchase_order_line(
    order_id: UUID, line: Annotated[PurchaseOrderLineCreate, Body()], write: IdempotentDep
) -> JSONResponse:
    async def op(tx: TenantTransaction) -> PurchaseOrder:
        return PurchaseOrder.model_validate(await purchasing.add_line(tx.conn, tx.tenant_id, order_id, line))

    return await write.run(line, op, status_code=201)


@router.delete("/{order_id}/lines/{line_id}", response_model=PurchaseOrder, summary="Remove a line from a draft")
async def remove_purchase_order_line(order_id: UUID, line_id: UUID, write: IdempotentDep) -> JSONResponse:
    async def op(tx: TenantTransaction) -> PurchaseOrder:
        return PurchaseOrder.model_validate(await purchasing.remove_line(tx.conn, order_id, line_id))

    return await write.run(None, op, status_code=200)


@router.post("/{order_id}/issue", response_model=PurchaseOrder, summary="Send a draft to the supplier")
async def issue_purchase_order(order_id: UUID, write: IdempotentDep) -> JSONResponse:
    # A retry of an issue or a cancel that went through would otherwise be refused as the wrong state (409).
    async def op(tx: TenantTransaction) -> PurchaseOrder:
        return PurchaseOrder.model_validate(await purchasing.issue_order(tx.conn, tx.tenant_id, order_id))

    return await write.run(None, op, status_code=200)


@router.post("/{order_id}/cancel", response_model=PurchaseOrder, summary="Cancel an order nothing was received on")
async def cancel_purchase_order(order_id: UUID, write: IdempotentDep) -> JSONResponse:
    async def op(tx: TenantTransaction) -> PurchaseOrder:
        return PurchaseOrder.model_validate(await purchasing.cancel_order(tx.conn, tx.tenant_id, order_id))

    return await write.run(None, op, status_code=200)


@router.post(
    "/{order_id}/receipts",
    status_code=201,
    response_model=PurchaseReceiptResult,
    summary="Receive goods (partial or full, with lots); writes the stock ledger in the same transaction",
)
async def receive_purchase_order(
    order_id: UUID, receipt: Annotated[PurchaseReceiptCreate, Body()], write: IdempotentDep
) -> JSONResponse:
    async def op(tx: TenantTransaction) -> PurchaseReceiptResult:
        received, order = await purchasing.receive(tx.conn, tx.tenant_id, tx.user_id, order_id, receipt)
        return PurchaseReceiptResult(
            receipt=PurchaseReceipt.model_validate(received), purchase_order=PurchaseOrder.model_validate(order)
        )

    return await write.run(receipt, op, status_code=201)


@router.get("/{order_id}/receipts", response_model=list[PurchaseReceipt], summary="Receipts of an order")
async def list_purchase_receipts(order_id: UUID, caller: CallerDep) -> list[PurchaseReceipt]:
    return [
        PurchaseReceipt.model_validate(r)
        for r in await caller.run(lambda tx: purchasing.list_receipts(tx.conn, order_id))
    ]


@units_router.get("/units-of-measure", response_model=list[UnitOfMeasureOut], summary="Shared units by category")
async def list_units(caller: CallerDep) -> list[UnitOfMeasureOut]:
    return [UnitOfMeasureOut.model_validate(u) for u in await caller.run(lambda tx: uom.list_units(tx.conn))]


@units_router.get(
    "/products/{product_id}/uom-conversions", response_model=list[UomConversion], summary="A product's own units"
)
async def list_uom_conversions(product_id: UUID, caller: CallerDep) -> list[UomConversion]:
    return [
        UomConversion.model_validate(c) for c in await caller.run(lambda tx: uom.list_conversions(tx.conn, product_id))
    ]


@units_router.put(
    "/products/{product_id}/uom-conversions/{unit}",
    response_model=UomConversion,
    summary="Set how many product units one `unit` holds (e.g. a box of 50)",
)
async def set_uom_conversion(
    product_id: UUID, unit: UnitParam, body: Annotated[UomConversionSet, Body()], caller: CallerDep
) -> UomConversion:
    return UomConversion.model_validate(
        await caller.run(
            lambda tx: uom.set_conversion(tx.conn, tx.tenant_id, product_id, unit, body.factor), write=True
        )
    )


@units_router.delete(
    "/products/{product_id}/uom-conversions/{unit}",
    status_code=204,
    summary="Forget a packaging unit (a product with none can change its own unit while nothing else counts in it)",
)
async def delete_uom_conversion(product_id: UUID, unit: UnitParam, caller: CallerDep) -> Response:
    await caller.run(lambda tx: uom.delete_conversion(tx.conn, product_id, unit), write=True)
    return Response(status_code=204)
