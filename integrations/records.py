"""The vendor-neutral shapes connectors produce and consume.

A connector turns each vendor row into a ``SourceRecord``: its external id, the raw row (kept for the dead
letter list) and ``fields`` named as below but still in the ERP's vocabulary (its unit names, warehouse
codes, currency codes). The sync engine validates ``fields`` against these models, maps the vocabulary
with the tenant's ``FieldMapping`` and upserts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from inventory.purchasing_schemas import PurchaseOrderStatus
from inventory.schemas import PlannedDate, TimeZone


class Entity(StrEnum):
    WAREHOUSES = "warehouses"
    SUPPLIERS = "suppliers"
    PRODUCTS = "products"
    STOCK = "stock"
    PURCHASE_ORDERS = "purchase_orders"


# Sync order: what a record refers to is synced before it.
ENTITY_ORDER = (Entity.WAREHOUSES, Entity.SUPPLIERS, Entity.PRODUCTS, Entity.STOCK, Entity.PURCHASE_ORDERS)


@dataclass(frozen=True, slots=True)
class SourceRecord:
    external_id: str
    fields: dict[str, Any]
    raw: Any = None


@dataclass(frozen=True, slots=True)
class Page:
    """Records read in one vendor call, and the cursor to store once they are committed (None: keep)."""

    records: list[SourceRecord]
    cursor: dict[str, Any] | None = None


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    external_id: str = Field(min_length=1, max_length=200)


class _PlaceRecord(_Record):
    """A warehouse or a supplier: a code, a name and where it is."""

    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")


class WarehouseRecord(_PlaceRecord):
    city: str | None = None
    # The IANA zone whose calendar its demand is counted in; None where the ERP gives none (it keeps its own).
    timezone: TimeZone | None = None


class SupplierRecord(_PlaceRecord):
    email: str | None = None
    # The ERP's code for what the vendor invoices in, "" for the company's; None where a connector does not read
    # it (the supplier keeps the currency it has).
    currency: str | None = None
    active: bool = True


class ProductRecord(_Record):
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    uom: str = Field(min_length=1, max_length=64)
    unit_cost: Decimal | None = Field(default=None, ge=0)
    active: bool = True


class StockRecord(_Record):
    """On hand for one product in one warehouse, in the product's own unit."""

    product_external_id: str = Field(min_length=1)
    warehouse_external_id: str | None = None
    warehouse_code: str | None = None
    quantity: Decimal = Field(ge=0)


class PurchaseOrderLineRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")
    line_no: int = Field(gt=0)
    product_external_id: str = Field(min_length=1)
    quantity: Decimal = Field(gt=0)
    uom: str = Field(min_length=1)
    unit_price: Decimal = Field(ge=0)
    received_quantity: Decimal = Field(default=Decimal(0), ge=0)
    # What the ERP will no longer deliver: the rest of a closed or deleted line.
    cancelled_quantity: Decimal = Field(default=Decimal(0), ge=0)


# How ERPs write "no date" in a date field: Business Central's blank date, .NET's DateTime.MinValue and SQL
# Server's zero date (Dynamics), SAP's and Oracle's "open-ended" date.
ERP_BLANK_DATES = frozenset({date(1, 1, 1), date(1900, 1, 1), date(9999, 12, 31)})


class PurchaseOrderRecord(_Record):
    number: str = Field(min_length=1, max_length=64)
    # The Chainsight number the ERP keeps on an order pushed from here (Odoo's origin, SAP's "Our Reference",
    # NetSuite's externalId): a sync that comes before the push learnt the ERP's id links the two.
    chainsight_number: str | None = None
    supplier_external_id: str = Field(min_length=1)
    warehouse_external_id: str | None = None
    warehouse_code: str | None = None
    currency: str | None = None
    expected_date: PlannedDate | None = None
    # When the ERP has the order placed, which dates its issue here (``integrations.order_dates``): Odoo's
    # confirmation time, or the day alone, on the receiving warehouse's calendar (Business Central's orderDate,
    # SAP's PurchaseOrderDate, NetSuite's trandate). None where the ERP gives none: the sync that sees it issued.
    ordered_at: AwareDatetime | None = None
    ordered_on: PlannedDate | None = None
    status: PurchaseOrderStatus
    # Empty only on a cancelled order, one whose every line the ERP gave up (Odoo's lines all set to 0), or on a
    # draft whose lines are at 0 while it is edited.
    lines: list[PurchaseOrderLineRecord]

    @field_validator("lines")
    @classmethod
    def _lines_unless_cancelled(cls, value: list[Any], info: ValidationInfo) -> list[Any]:
        status = info.data.get("status")
        if not value and status is not PurchaseOrderStatus.CANCELLED and status is not PurchaseOrderStatus.DRAFT:
            raise ValueError("at least one line, unless the order is cancelled or a draft")
        return value

    @field_validator("expected_date", "ordered_on", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        try:
            parsed = date.fromisoformat(value[:10]) if isinstance(value, str) else value
        except ValueError:
            return value  # not a date: the field's own validation says so
        return None if isinstance(parsed, date) and parsed in ERP_BLANK_DATES else value


RECORD_MODELS: dict[Entity, type[_Record]] = {
    Entity.WAREHOUSES: WarehouseRecord,
    Entity.SUPPLIERS: SupplierRecord,
    Entity.PRODUCTS: ProductRecord,
    Entity.STOCK: StockRecord,
    Entity.PURCHASE_ORDERS: PurchaseOrderRecord,
}


@dataclass(frozen=True, slots=True)
class PushLine:
    line_no: int
    product_external_id: str
    sku: str
    quantity: Decimal  # in the product's unit
    uom: str  # the ERP's name for the product's unit
    unit_price: Decimal  # per product unit


@dataclass(frozen=True, slots=True)
class PushOrder:
    """A Chainsight purchase order in the ERP's vocabulary, ready to create there."""

    number: str
    supplier_external_id: str
    supplier_code: str
    warehouse_external_id: str | None
    warehouse_code: str
    currency: str
    expected_date: date | None
    lines: list[PushLine] = field(default_factory=list)


def decimal_or_none(value: Any) -> Decimal | None:
    """A vendor's number (a number or a numeric string) as a Decimal; None when empty or unreadable."""
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def line_numbers(positions: list[int], step: int) -> list[int]:
    """ERP item positions as Chainsight line numbers: 1, 2, ... while they are distinct positive multiples of
    ``step`` (SAP's 10, 20; Business Central's 10000, 20000), else their order by position (an item inserted
    between two, 15000, or an order type numbering 1, 2, 3 would repeat a line or give line 0, and the order
    was dead-lettered)."""
    even = [p // step for p in positions]
    if all(p > 0 and p % step == 0 for p in positions) and len(set(even)) == len(even):
        return even
    order = sorted(range(len(positions)), key=lambda i: positions[i])
    return [order.index(i) + 1 for i in range(len(positions))]
