"""Per-tenant, per-connector field mapping: ERP units, warehouse codes and currencies to Chainsight's.

Stored as the connector's ``mapping`` JSON, e.g.::

    {"units": {"Units": "each", "PC": "each", "KGM": "kg", "Dozens": "dozen"},
     "warehouses": {"1010": "MAIN", "WH": "MAIN"},
     "currencies": {"1": "EUR"},
     "default_currency": "EUR",
     "default_warehouse": "MAIN"}

A unit maps through ``units`` or, failing that, when its lower-case name is already a Chainsight unit
code; an order line's unit may also be a packaging unit recorded for its product ("box" = 50 each). Anything
else is a ``MappingError`` and the record goes to the dead letter list. Warehouse codes
not listed keep their ERP code; currencies not listed must already be ISO 4217 codes.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from pydantic import BaseModel, ConfigDict, Field

from integrations.errors import MappingError

_ISO_CURRENCY = re.compile(r"^[A-Z]{3}$")


class FieldMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    units: dict[str, str] = Field(default_factory=dict)
    warehouses: dict[str, str] = Field(default_factory=dict)
    currencies: dict[str, str] = Field(default_factory=dict)
    default_currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    default_warehouse: str | None = Field(default=None, min_length=1, max_length=64)

    def unit(self, erp_unit: str, known_units: Collection[str], packaging_units: Collection[str] | None = None) -> str:
        """The Chainsight unit for ``erp_unit``: one of the shared ``known_units`` or, where given (an order line's
        product), one of that product's ``packaging_units`` (a box of 50), which ``conversion_factor`` resolves."""
        usable = set(known_units) | set(packaging_units or ())
        mapped = self.units.get(erp_unit)
        if mapped is None and erp_unit.lower() in usable:
            mapped = erp_unit.lower()
        if mapped is not None and mapped in usable:
            return mapped
        known = f"known units: {', '.join(sorted(known_units))}"
        if packaging_units:
            known += f"; this product's packaging units: {', '.join(sorted(packaging_units))}"
        if packaging_units is None:
            remedy = "add it to the connector's mapping.units"
        elif mapped is None:
            remedy = (
                "add it to the connector's mapping.units or, for a packaging unit (a box of 50), map it to a unit "
                "code and record that unit for the product: PUT /products/{id}/uom-conversions/{unit}"
            )
        else:  # mapped to a code this product has no conversion for
            remedy = (
                f"it maps to {mapped!r}, which is neither a shared unit nor a packaging unit of the product: record "
                f"it for the product (PUT /products/{{id}}/uom-conversions/{mapped}) or correct mapping.units"
            )
        raise MappingError(f"unit {erp_unit!r} has no Chainsight equivalent: {remedy} ({known})")

    def erp_unit(self, unit: str) -> str:
        """The ERP's name for a Chainsight unit (the first mapping entry that targets it, else the code)."""
        return next((erp for erp, mine in self.units.items() if mine == unit), unit)

    def warehouse(self, erp_code: str | None) -> str:
        if erp_code:
            return self.warehouses.get(erp_code, erp_code)
        if self.default_warehouse:
            return self.default_warehouse
        raise MappingError("the record names no warehouse and the mapping has no default_warehouse")

    def erp_warehouse(self, code: str) -> str:
        return next((erp for erp, mine in self.warehouses.items() if mine == code), code)

    def currency(self, erp_currency: str | None) -> str:
        if not erp_currency:
            if self.default_currency:
                return self.default_currency
            raise MappingError("the record has no currency and the mapping has no default_currency")
        mapped = self.currencies.get(erp_currency, erp_currency)
        if not _ISO_CURRENCY.match(mapped):
            raise MappingError(f"currency {erp_currency!r} is not an ISO 4217 code: add it to mapping.currencies")
        return mapped

    def currency_or_none(self, erp_currency: str | None) -> str | None:
        """A vendor's currency: blank is the ERP company's, which default_currency names (None without it)."""
        if not erp_currency and not self.default_currency:
            return None
        return self.currency(erp_currency)

    def erp_currency(self, currency: str) -> str:
        return next((erp for erp, mine in self.currencies.items() if mine == currency), currency)
