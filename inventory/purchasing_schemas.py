"""Request and response models for purchasing: purchase orders, receipts, units and reorder rules."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field, PlainSerializer, model_validator

from inventory.schemas import (
    Currency,
    Money,
    OffsetTimestamps,
    PlannedDate,
    PositiveQuantity,
    Quantity,
    Reference,
    StrictModel,
    UnitOfMeasure,
    UpdateModel,
)

Incoterm = Literal["EXW", "FCA", "CPT", "CIP", "DAP", "DPU", "DDP", "FAS", "FOB", "CFR", "CIF"]
TolerancePct = Annotated[Decimal, Field(ge=0, le=100, max_digits=6, decimal_places=2)]
LotNumber = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/\-]*$")]
Notes = Annotated[str, Field(max_length=2000)]
Factor = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=6)]


class PurchaseOrderStatus(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CANCELLED = "cancelled"


# The lines one request may create an order with (a bound on the request's size and work).
MAX_ORDER_LINES = 500


class PurchaseOrderLineCreate(StrictModel):
    product_id: UUID
    quantity: PositiveQuantity
    uom: UnitOfMeasure | None = Field(default=None, description="Unit ordered in; defaults to the product's unit")
    unit_price: Money | None = Field(
        default=None, description="Price per `uom`; defaults to the product's unit cost times the conversion"
    )


class PurchaseOrderCreate(StrictModel):
    supplier_id: UUID
    warehouse_id: UUID
    currency: Currency | None = Field(default=None, description="Default: the supplier's currency, else EUR")
    expected_date: PlannedDate | None = None
    incoterm: Incoterm | None = None
    over_receipt_tolerance_pct: TolerancePct | None = Field(
        default=None, description="Receipts may exceed each line by this percentage; default from settings"
    )
    notes: Notes | None = None
    lines: Annotated[list[PurchaseOrderLineCreate], Field(max_length=MAX_ORDER_LINES)] = []


class PurchaseOrderUpdate(UpdateModel):
    non_nullable = UpdateModel.non_nullable | {"supplier_id", "warehouse_id", "currency", "over_receipt_tolerance_pct"}

    supplier_id: UUID | None = None
    warehouse_id: UUID | None = None
    currency: Currency | None = None
    expected_date: PlannedDate | None = None
    incoterm: Incoterm | None = None
    over_receipt_tolerance_pct: TolerancePct | None = None
    notes: Notes | None = None


class PurchaseOrderLine(BaseModel):
    id: UUID
    line_no: int
    product_id: UUID
    sku: str
    quantity: Quantity
    uom: str
    uom_factor: Annotated[Decimal, Field(description="Product units per `uom`")]
    quantity_base: Quantity
    product_uom: str
    unit_price: Quantity
    # Exact: a quantity and a price of four decimals each make up to eight (0.125 x 1.99 = 0.24875).
    amount: Annotated[
        Decimal,
        Field(max_digits=32, decimal_places=8, description="quantity x unit_price, exact"),
        PlainSerializer(float, return_type=float, when_used="json"),
    ]
    received_base: Quantity
    cancelled_base: Quantity
    backorder_base: Annotated[Quantity, Field(description="Still expected, in the product's unit")]
    erp_given_up_at: datetime | None = Field(
        default=None,
        description="When the ERP's sync gave this line up after goods were received on it (its product changed, "
        "or the line removed): the line is kept, closed at what was received, under its own number, and the ERP's "
        "line of that number, if any, is another line listed before it. Null: a live line",
    )


class PurchaseOrderSummary(BaseModel):
    id: UUID
    number: str
    status: PurchaseOrderStatus
    supplier_id: UUID
    supplier_code: str
    warehouse_id: UUID
    warehouse_code: str
    currency: str
    expected_date: date | None
    incoterm: str | None
    over_receipt_tolerance_pct: Quantity
    origin: str | None
    notes: str | None
    line_count: int
    total_amount: Quantity
    created_by: UUID | None
    issued_at: datetime | None
    received_at: datetime | None
    cancelled_at: datetime | None
    created_at: datetime
    updated_at: datetime


class PurchaseOrder(PurchaseOrderSummary):
    lines: list[PurchaseOrderLine]


class PurchaseReceiptLineCreate(StrictModel):
    line_id: UUID
    quantity: PositiveQuantity = Field(description="In the line's unit of measure")
    lot_number: LotNumber | None = None
    expiry_date: PlannedDate | None = None

    @model_validator(mode="after")
    def _expiry_needs_lot(self) -> PurchaseReceiptLineCreate:
        if self.expiry_date is not None and self.lot_number is None:
            raise ValueError("expiry_date needs a lot_number")
        return self


class PurchaseReceiptCreate(OffsetTimestamps):
    happened = ("received_at",)

    lines: Annotated[list[PurchaseReceiptLineCreate], Field(max_length=500)]
    reference: Reference | None = None
    received_at: datetime | None = None
    close_backorder: bool = Field(
        default=False,
        description="Write off what is still outstanding (Odoo's 'No backorder'); with no lines, only that",
    )

    @model_validator(mode="after")
    def _lines_or_a_write_off(self) -> PurchaseReceiptCreate:
        # A supplier who will not ship the rest: closing the backorder alone must not need a phantom receipt.
        if not self.lines and not self.close_backorder:
            raise ValueError("lines: at least one line, unless close_backorder writes off what is outstanding")
        return self


class PurchaseReceiptLine(BaseModel):
    id: UUID
    purchase_order_line_id: UUID
    product_id: UUID
    quantity: Quantity
    quantity_base: Quantity
    lot_id: UUID | None
    lot_number: str | None
    expiry_date: date | None
    movement_id: UUID


class PurchaseReceipt(BaseModel):
    id: UUID
    purchase_order_id: UUID
    reference: str | None
    backorder_closed: bool
    received_at: datetime
    created_by: UUID | None
    lines: list[PurchaseReceiptLine]


class PurchaseReceiptResult(BaseModel):
    receipt: PurchaseReceipt
    purchase_order: PurchaseOrder


class UnitOfMeasureOut(BaseModel):
    code: str
    category: str
    ratio: Decimal
    name: str


class UomConversionSet(StrictModel):
    factor: Factor = Field(description="Product units in one of this unit, e.g. 50 for a box of 50")


class UomConversion(BaseModel):
    product_id: UUID
    uom: str
    factor: Decimal
    updated_at: datetime


# Reorder rules -------------------------------------------------------------------------------------


class ReorderRuleCreate(StrictModel):
    product_id: UUID
    warehouse_id: UUID
    supplier_id: UUID
    min_quantity: Annotated[Quantity, Field(ge=0)]
    max_quantity: Annotated[Quantity, Field(ge=0)]
    order_multiple: Annotated[Quantity, Field(ge=0)] = Decimal(1)
    lead_time_days: Annotated[int, Field(ge=0, le=3650)] | None = None
    active: bool = True


class ReorderRuleUpdate(UpdateModel):
    non_nullable = UpdateModel.non_nullable | {"supplier_id", "min_quantity", "max_quantity", "order_multiple"}

    supplier_id: UUID | None = None
    min_quantity: Annotated[Quantity, Field(ge=0)] | None = None
    max_quantity: Annotated[Quantity, Field(ge=0)] | None = None
    order_multiple: Annotated[Quantity, Field(ge=0)] | None = None
    lead_time_days: Annotated[int, Field(ge=0, le=3650)] | None = None
    active: bool | None = None


class ReorderRule(BaseModel):
    id: UUID
    product_id: UUID
    warehouse_id: UUID
    supplier_id: UUID
    min_quantity: Quantity
    max_quantity: Quantity
    order_multiple: Quantity
    lead_time_days: int | None
    active: bool
    created_at: datetime
    updated_at: datetime


class ReorderProposal(BaseModel):
    rule_id: UUID
    product_id: UUID
    sku: str
    warehouse_id: UUID
    warehouse_code: str
    supplier_id: UUID
    supplier_code: str
    on_hand: Quantity
    reserved: Quantity
    incoming: Quantity
    projected: Quantity
    min_quantity: Quantity
    max_quantity: Quantity
    order_multiple: Quantity
    quantity: Annotated[Quantity, Field(description="To order, in the product's unit")]
    unit_price: Annotated[
        Quantity | None, Field(description="What a draft would pay per product unit, in `currency`; null: see why")
    ]
    currency: Annotated[str, Field(description="The draft's: the supplier's currency, else EUR")]
    price_source: Annotated[
        str | None, Field(description="'unit cost', or the supplier's order it was last paid on and its date")
    ]
    unpriced_reason: Annotated[str | None, Field(description="Why nothing prices it (no exchange rates are kept)")]
    lead_time_days: Annotated[
        int | None, Field(description="The rule's, else the supplier's; null: neither gives one, not known")
    ]
    expected_date: Annotated[
        date | None,
        Field(description="The lead time after the receiving warehouse's date; null while the lead time is not known"),
    ]


class ReorderProposals(BaseModel):
    proposals: list[ReorderProposal]


class ReorderOrdersCreated(BaseModel):
    purchase_orders: list[PurchaseOrder]
