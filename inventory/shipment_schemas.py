"""Request and response models for shipments and their tracking events."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from inventory.schemas import OffsetTimestamps, PlannedDate, PositiveQuantity, Quantity, StrictModel

Carrier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._\-]*$")]
TrackingNumber = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")]


class ShipmentDirection(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class TrackingEventType(StrEnum):
    CREATED = "created"
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    DELAYED = "delayed"
    DELIVERED = "delivered"
    EXCEPTION = "exception"


class ShipmentStatus(StrEnum):
    """A shipment's status: its newest tracking event's, or ``cancelled`` (``POST /shipments/{id}/cancel``)."""

    CREATED = "created"
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    DELAYED = "delayed"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    CANCELLED = "cancelled"


class ShipmentLineCreate(StrictModel):
    product_id: UUID
    quantity: PositiveQuantity
    reservation_id: UUID | None = Field(
        default=None,
        description="Outbound only: the hold (POST /reservations) this line ships, of the same product and warehouse "
        "and at least its quantity; without one the shipment places its own hold",
    )


class ShipmentCreate(StrictModel):
    direction: ShipmentDirection
    warehouse_id: UUID = Field(description="Ships from (outbound) or to (inbound)")
    carrier: Carrier
    tracking_number: TrackingNumber
    purchase_order_id: UUID | None = Field(default=None, description="Inbound only: the order it brings")
    order_reference: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="The customer or sales order it serves"
    )
    expected_delivery: PlannedDate | None = None
    lines: Annotated[list[ShipmentLineCreate], Field(max_length=500)] = []

    @model_validator(mode="after")
    def _inbound_order(self) -> ShipmentCreate:
        if self.purchase_order_id is not None and self.direction is not ShipmentDirection.INBOUND:
            raise ValueError("purchase_order_id is for inbound shipments only")
        if self.direction is ShipmentDirection.INBOUND and any(line.reservation_id for line in self.lines):
            raise ValueError("reservation_id is for outbound lines only: an inbound shipment holds no stock")
        return self


class TrackingEventCreate(OffsetTimestamps):
    # The status is the newest event's: one dated in the future would hold it there against every real one.
    happened = ("occurred_at",)

    type: TrackingEventType
    occurred_at: datetime | None = Field(default=None, description="When it happened; defaults to now")
    location: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    description: Annotated[str, Field(min_length=1, max_length=1000)] | None = None
    event_id: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="The carrier's id for the event: a repeat is recorded once"
    )

    @model_validator(mode="after")
    def _not_created(self) -> TrackingEventCreate:
        if self.type is TrackingEventType.CREATED:
            raise ValueError("'created' is recorded when the shipment is created")
        return self


class CarrierWebhookEvent(TrackingEventCreate):
    """The webhook's body. The tenant comes from the signing key (``X-Chainsight-Key-Id``), never from here."""

    carrier: Carrier
    tracking_number: TrackingNumber
    event_id: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        description="The carrier's id for the event, unique within the tenant: a repeat is recorded once"
    )


class CarrierWebhookKeyCreate(StrictModel):
    name: Annotated[str, Field(min_length=1, max_length=100)] = Field(description="Which carrier or system uses it")


class CarrierWebhookKey(BaseModel):
    id: UUID = Field(description="The key id carriers send as X-Chainsight-Key-Id")
    name: str
    created_by: UUID | None
    created_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class CarrierWebhookKeySecret(CarrierWebhookKey):
    secret: str = Field(description="Shown once: give it to the carrier to sign with; it cannot be read again")


class ShipmentLine(BaseModel):
    id: UUID
    product_id: UUID
    quantity: Quantity
    movement_id: UUID | None
    reservation_id: UUID | None = Field(description="The hold the line ships (outbound)")


class TrackingEvent(BaseModel):
    id: UUID
    shipment_id: UUID
    event_type: TrackingEventType
    occurred_at: datetime
    location: str | None
    description: str | None
    external_id: str | None
    source: str
    created_at: datetime


class ShipmentSummary(BaseModel):
    id: UUID
    number: str
    direction: ShipmentDirection
    status: ShipmentStatus
    warehouse_id: UUID
    purchase_order_id: UUID | None
    order_reference: str | None
    carrier: str
    tracking_number: str
    expected_delivery: date | None
    delivered_at: datetime | None
    stock_issued_at: datetime | None
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime


class Shipment(ShipmentSummary):
    lines: list[ShipmentLine]
    events: list[TrackingEvent]
