"""Request and response models for the inventory domain. Unknown fields are refused everywhere."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar, Literal, Self
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

# Quantities are exact decimals in the database; JSON clients get numbers.
Quantity = Annotated[
    Decimal,
    Field(max_digits=18, decimal_places=4),
    PlainSerializer(float, return_type=float, when_used="json"),
]
PositiveQuantity = Annotated[Quantity, Field(gt=0)]
Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=14, decimal_places=4),
    PlainSerializer(float, return_type=float, when_used="json"),
]
# What those columns keep (numeric(18, 4) for quantities and amounts, numeric(14, 4) for prices): a figure computed
# past them (a converted quantity, an order's total) is refused with its own numbers, not the database's overflow.
LARGEST_QUANTITY = Decimal(10) ** (18 - 4)
LARGEST_PRICE = Decimal(10) ** (14 - 4)
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/\-]*$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. EUR")]


def _known_timezone(name: str) -> str:
    if name not in available_timezones():
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin")
    try:
        ZoneInfo(name)
    except ZoneInfoNotFoundError as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc
    return name


TimeZone = Annotated[
    str, Field(max_length=64, description="IANA time zone, e.g. Europe/Berlin"), AfterValidator(_known_timezone)
]


def zone_name(zone: tzinfo) -> str:
    """'Europe/Berlin' for a zone of the tz database, else its name ('UTC')."""
    return str(getattr(zone, "key", None) or zone.tzname(None) or "UTC")


# What an order is in, and a unit cost, when neither the caller nor the supplier says.
DEFAULT_CURRENCY = "EUR"
UnitOfMeasure = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[a-z][a-z0-9_]*$")]
Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Reference = Annotated[str, Field(min_length=1, max_length=200)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class UpdateModel(StrictModel):
    """A partial update: at least one field, and no null for a field in ``non_nullable`` (omit it to keep it)."""

    non_nullable: ClassVar[frozenset[str]] = frozenset(
        {"sku", "name", "code", "unit_of_measure", "unit_cost_currency", "active", "lot_tracked"}
    )

    @model_validator(mode="after")
    def _not_empty(self) -> UpdateModel:
        if not self.model_fields_set:
            raise ValueError("an update must change at least one field")
        for name in self.model_fields_set:
            if getattr(self, name) is None and name in self.non_nullable:
                raise ValueError(f"{name} cannot be null")
        return self


# How far ahead of the server's clock a time that something happened may lie (a client's clock runs fast).
CLOCK_SKEW = timedelta(days=1)
# Nothing a ledger, a receipt or a carrier records happened before this (year 1 with a +14:00 offset falls
# in year 0 UTC, which the database refuses, and spreadsheets have no dates before 1900).
EARLIEST_HAPPENED = datetime(1900, 1, 1, tzinfo=UTC)


# The dates a plan may name (an order's expected arrival). One outside them is a typo or an ERP's "no date"
# (0001-01-01, 9999-12-31), and read as a date it makes an order 739,000 days late in every answer that
# counts lateness, or falls past the dates pandas keeps (2262) in forecasts and risk scores.
EARLIEST_PLANNED = EARLIEST_HAPPENED.date()
LATEST_PLANNED = date(2199, 12, 31)
# The first instant past them: a time that something is to happen (a hold's expiry) lies before it.
PAST_PLANNED = datetime(LATEST_PLANNED.year + 1, 1, 1, tzinfo=UTC)


def plannable(value: date) -> date:
    """``value``, or a ValueError saying it lies outside the dates a plan may name."""
    if not EARLIEST_PLANNED <= value <= LATEST_PLANNED:
        raise ValueError(f"{value.isoformat()} is not between {EARLIEST_PLANNED} and {LATEST_PLANNED}")
    return value


PlannedDate = Annotated[
    date, AfterValidator(plannable), Field(description=f"Between {EARLIEST_PLANNED} and {LATEST_PLANNED}")
]


class OffsetTimestamps(StrictModel):
    """Checks the times at which something happened, in the fields ``happened`` names. Each needs a timezone
    offset (without one it would be ambiguous) and must lie between 1900 and ``CLOCK_SKEW`` ahead of now: one
    dated in the future would hold a shipment's status, or make a supplier's lead time run for centuries (or
    past the dates pandas keeps) in every forecast and risk score that reads it."""

    happened: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _aware(self) -> Self:
        for name in self.happened:
            value = getattr(self, name)
            if value is None:
                continue
            if value.tzinfo is None:
                raise ValueError(f"{name} must include a timezone offset, e.g. 2026-01-31T09:00:00Z")
            if value > datetime.now(UTC) + CLOCK_SKEW:
                raise ValueError(f"{name} {value.isoformat()} is more than a day in the future")
            if value < EARLIEST_HAPPENED:
                raise ValueError(f"{name} {value.isoformat()} is before {EARLIEST_HAPPENED.year}")
        return self


# Stock ---------------------------------------------------------------------------------------------


class MovementType(StrEnum):
    RECEIPT = "receipt"
    ISSUE = "issue"
    TRANSFER = "transfer"
    ADJUSTMENT = "adjustment"


class _MovementBase(OffsetTimestamps):
    happened = ("occurred_at",)

    product_id: UUID
    reference: Reference | None = None
    occurred_at: datetime | None = Field(
        default=None, description="When it happened physically; defaults to now. Must carry a timezone."
    )


class ReceiptCreate(_MovementBase):
    type: Literal[MovementType.RECEIPT]
    warehouse_id: UUID
    quantity: PositiveQuantity


class IssueCreate(_MovementBase):
    type: Literal[MovementType.ISSUE]
    warehouse_id: UUID
    quantity: PositiveQuantity


class TransferCreate(_MovementBase):
    type: Literal[MovementType.TRANSFER]
    from_warehouse_id: UUID
    to_warehouse_id: UUID
    quantity: PositiveQuantity

    @model_validator(mode="after")
    def _distinct(self) -> TransferCreate:
        if self.from_warehouse_id == self.to_warehouse_id:
            raise ValueError("from_warehouse_id and to_warehouse_id must differ")
        return self


class AdjustmentCreate(_MovementBase):
    type: Literal[MovementType.ADJUSTMENT]
    warehouse_id: UUID
    quantity: Quantity = Field(description="Signed change: positive adds stock, negative removes it")
    reason: Annotated[str, Field(min_length=1, max_length=500)]

    @model_validator(mode="after")
    def _non_zero(self) -> AdjustmentCreate:
        if self.quantity == 0:
            raise ValueError("an adjustment quantity must not be zero")
        return self


MovementCreate = Annotated[ReceiptCreate | IssueCreate | TransferCreate | AdjustmentCreate, Field(discriminator="type")]


class StockMovement(BaseModel):
    id: UUID
    product_id: UUID
    warehouse_id: UUID
    movement_type: str
    quantity: Quantity
    transfer_id: UUID | None
    reservation_id: UUID | None
    reference: str | None
    reason: str | None
    created_by: UUID | None
    occurred_at: datetime
    created_at: datetime


class MovementResult(BaseModel):
    movements: list[StockMovement]
    levels: list[StockLevel]


class StockLevel(BaseModel):
    product_id: UUID
    sku: str
    product_name: str
    unit_of_measure: str
    warehouse_id: UUID
    warehouse_code: str
    on_hand: Quantity
    reserved: Quantity
    available: Quantity
    updated_at: datetime


class ReservationStatus(StrEnum):
    ACTIVE = "active"
    RELEASED = "released"
    FULFILLED = "fulfilled"
    EXPIRED = "expired"


class ReservationCreate(StrictModel):
    product_id: UUID
    warehouse_id: UUID
    quantity: PositiveQuantity
    reference: Reference | None = None
    expires_at: datetime | None = None

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        # A time without an offset is UTC. Whether it is still ahead is checked when the hold is placed
        # (create_reservation), not here: a retry of a placed hold replays its answer whenever it comes.
        value = value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value
        if value is not None and value >= PAST_PLANNED:  # 9999-12-31 (an ERP's "never") is past what the database keeps
            raise ValueError(
                f"expires_at {value.isoformat()} is past {LATEST_PLANNED} (UTC), the latest date a plan may name; "
                "omit expires_at for a hold that does not expire"
            )
        return value


class Reservation(BaseModel):
    id: UUID
    product_id: UUID
    warehouse_id: UUID
    quantity: Quantity
    status: ReservationStatus
    reference: str | None
    expires_at: datetime | None
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime


MovementResult.model_rebuild()
