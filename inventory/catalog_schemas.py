"""The catalogue's API contract: products, suppliers and warehouses as written and as read back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from inventory.country_zones import country_zone
from inventory.schemas import (
    DEFAULT_CURRENCY,
    Code,
    CountryCode,
    Currency,
    Email,
    Money,
    Name,
    StrictModel,
    TimeZone,
    UnitOfMeasure,
    UpdateModel,
)


class ProductCreate(StrictModel):
    sku: Code
    name: Name
    description: Annotated[str, Field(max_length=2000)] | None = None
    category: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    unit_of_measure: UnitOfMeasure = "each"
    unit_cost: Money | None = None
    unit_cost_currency: Currency = Field(
        default=DEFAULT_CURRENCY,
        description="What `unit_cost` is in; an order in another currency does not take it as a price",
    )
    lot_tracked: bool = Field(default=False, description="Receipts must name a lot/batch (and may carry expiry)")
    active: bool = True


class ProductUpdate(UpdateModel):
    sku: Code | None = None
    name: Name | None = None
    description: Annotated[str, Field(max_length=2000)] | None = None
    category: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    unit_of_measure: UnitOfMeasure | None = None
    unit_cost: Money | None = None
    unit_cost_currency: Currency | None = None
    lot_tracked: bool | None = None
    active: bool | None = None


# Rows read back carry what the database holds, which an ERP sync or a history import may have written
# outside what the API accepts (a code with spaces, a long city): the read models check types, not input
# rules, so such a row cannot fail a listing (it did, with a 500, until 2026-12-06). Each lists its model's
# fields first, then these (a read model's config is its own: its bases' would refuse unknown fields).


class _Stored(BaseModel):
    id: UUID
    created_at: datetime
    updated_at: datetime


class Product(_Stored, ProductCreate):
    model_config = ConfigDict(extra="ignore")
    sku: str
    name: str
    description: str | None = None
    category: str | None = None
    unit_of_measure: str = "each"
    # A row may hold NULL where the API never writes one: an ERP cost whose currency its mapping lacks.
    unit_cost_currency: str | None = Field(  # type: ignore[assignment]
        default=None, description="What `unit_cost` is in; null for an ERP cost of unknown currency"
    )


class _CodedCreate(StrictModel):
    """What a supplier and a warehouse are both known by."""

    code: Code
    name: Name
    country: CountryCode | None = None


class _CodedUpdate(UpdateModel):
    code: Code | None = None
    name: Name | None = None
    country: CountryCode | None = None


class _CodedRow(_Stored):
    code: str
    name: str
    country: str | None = None


class SupplierCreate(_CodedCreate):
    email: Email | None = None
    lead_time_days: Annotated[int, Field(ge=0, le=3650)] | None = None
    currency: Currency | None = Field(default=None, description="What it invoices in: orders to it default to it")
    active: bool = True


class SupplierUpdate(_CodedUpdate):
    email: Email | None = None
    lead_time_days: Annotated[int, Field(ge=0, le=3650)] | None = None
    currency: Currency | None = None
    active: bool | None = None


class Supplier(_CodedRow, SupplierCreate):
    model_config = ConfigDict(extra="ignore")
    email: str | None = None
    lead_time_days: int | None = None
    currency: str | None = None


class WarehouseCreate(_CodedCreate):
    city: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    timezone: TimeZone | None = Field(
        default=None,
        description="the warehouse's calendar: its demand is counted per local day and week, and its orders and "
        "shipments are late once their expected date has passed there. Omitted or null: the country's zone where the "
        "country keeps one time (DE: Europe/Berlin), else none (not known: demand by UTC day, lateness from the "
        "reader's date)",
    )
    active: bool = True

    @model_validator(mode="after")
    def _zone_of_its_country(self) -> WarehouseCreate:
        if self.timezone is None:
            self.timezone = country_zone(self.country) if self.country else None
        return self


class WarehouseUpdate(_CodedUpdate):
    city: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    timezone: TimeZone | None = None
    active: bool | None = None


class Warehouse(_CodedRow, WarehouseCreate):
    model_config = ConfigDict(extra="ignore")
    city: str | None = None
    timezone: str | None = None

    @model_validator(mode="after")
    def _zone_of_its_country(self) -> Warehouse:
        return self  # what is stored: a warehouse without a zone reads as none, not as its country's
